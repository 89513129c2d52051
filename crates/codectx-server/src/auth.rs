//! Bearer-token tenancy: which caller may reach which repository.
//!
//! Tokens come from `[[server.tokens]]` ([`codectx_core::TokenConfig`]). With none
//! configured, [`Auth`] lets every call through. With any, each RPC of
//! `codectx.v1.CodeContext` must carry `authorization: Bearer <token>`:
//!
//! | call                                             | no / unknown token | token without the repository | non-admin token |
//! |--------------------------------------------------|--------------------|------------------------------|-----------------|
//! | repository RPCs (GetContext, Search, ...)        | `UNAUTHENTICATED`  | `NOT_FOUND`, worded exactly as for a repository that does not exist | — |
//! | `ListRepositories`                               | `UNAUTHENTICATED`  | (only its repositories are listed) | — |
//! | admin RPCs (Add/RemoveRepository, IndexRepository) | `UNAUTHENTICATED` | — | `PERMISSION_DENIED` |
//!
//! A token that is not an admin token reads no absolute server path: error
//! messages have them redacted and repositories are listed without their root
//! ([`Caller::is_admin`]).
//!
//! Tokens are compared by their BLAKE3 digests, so the comparison's timing says
//! nothing about the token's bytes. Health checks and reflection stay open (load
//! balancers and `grpcurl` need them).

use std::collections::HashSet;

use codectx_core::{Error, Result, TokenConfig};
use tonic::metadata::MetadataMap;
use tonic::Status;

/// One configured token.
#[derive(Debug)]
struct Principal {
    name: String,
    digest: [u8; 32],
    /// `None`: every repository.
    repositories: Option<HashSet<String>>,
    admin: bool,
}

/// The token table of a server.
#[derive(Debug, Default)]
pub struct Auth {
    principals: Vec<Principal>,
}

/// Who is calling, once authenticated.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    principal: Option<&'a Principal>,
}

impl Caller<'_> {
    /// Whether the caller holds an admin token, or no tokens are configured (an
    /// open server: every call is let through). Only such callers see the
    /// server's absolute paths (repository roots, index folders) in answers and
    /// error messages; the others get them redacted ([`crate::status`]).
    pub fn is_admin(&self) -> bool {
        self.principal.is_none_or(|principal| principal.admin)
    }

    /// Whether the caller may see repository `name`.
    pub fn sees(&self, name: &str) -> bool {
        match self.principal {
            None => true,
            Some(principal) => principal.repositories.as_ref().is_none_or(|set| set.contains(name)),
        }
    }
}

impl Auth {
    /// No tokens: every call is let through.
    pub fn open() -> Auth {
        Auth::default()
    }

    /// The table of `tokens`, each read from its `token` or the environment
    /// variable named by `token_env`.
    ///
    /// Errors: [`Error::InvalidArgument`] for a token without a value (unset or
    /// empty variable, or neither key), shorter than 16 bytes, or given twice.
    pub fn from_config(tokens: &[TokenConfig]) -> Result<Auth> {
        let mut principals: Vec<Principal> = Vec::new();
        for (index, token) in tokens.iter().enumerate() {
            let label = if token.name.is_empty() { format!("#{}", index + 1) } else { token.name.clone() };
            let value = match (&token.token, &token.token_env) {
                (Some(value), _) => value.clone(),
                (None, Some(variable)) => std::env::var(variable).unwrap_or_default(),
                (None, None) => String::new(),
            };
            if value.is_empty() {
                return Err(Error::InvalidArgument(format!(
                    "server token {label}: no value (set `token`, or `token_env` to a variable that is set)"
                )));
            }
            if value.len() < 16 {
                return Err(Error::InvalidArgument(format!("server token {label}: shorter than 16 bytes")));
            }
            let digest = *blake3::hash(value.as_bytes()).as_bytes();
            if principals.iter().any(|principal| principal.digest == digest) {
                return Err(Error::InvalidArgument(format!("server token {label}: the same token is given twice")));
            }
            let repositories = if token.repositories.iter().any(|name| name == "*") {
                None
            } else {
                Some(token.repositories.iter().cloned().collect())
            };
            principals.push(Principal { name: label, digest, repositories, admin: token.admin });
        }
        Ok(Auth { principals })
    }

    /// Whether tokens are required.
    pub fn enabled(&self) -> bool {
        !self.principals.is_empty()
    }

    /// The caller of a request: `UNAUTHENTICATED` without a valid bearer token
    /// (when tokens are configured).
    #[allow(clippy::result_large_err)]
    pub fn caller(&self, metadata: &MetadataMap) -> std::result::Result<Caller<'_>, Status> {
        if !self.enabled() {
            return Ok(Caller { principal: None });
        }
        let header = metadata
            .get("authorization")
            .and_then(|value| value.to_str().ok())
            .ok_or_else(|| Status::unauthenticated("missing `authorization: Bearer <token>`"))?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .ok_or_else(|| Status::unauthenticated("the authorization header is not `Bearer <token>`"))?;
        let digest = *blake3::hash(token.as_bytes()).as_bytes();
        let principal = self
            .principals
            .iter()
            .find(|principal| principal.digest == digest)
            .ok_or_else(|| Status::unauthenticated("unknown token"))?;
        tracing::debug!(token = %principal.name, "authenticated");
        Ok(Caller { principal: Some(principal) })
    }

    /// Checks a call on repository `name` and returns its caller:
    /// `UNAUTHENTICATED`, or `NOT_FOUND` with the same message as a repository
    /// that does not exist, so that a token cannot learn which other repositories
    /// are served.
    #[allow(clippy::result_large_err)]
    pub fn repository(&self, metadata: &MetadataMap, name: &str) -> std::result::Result<Caller<'_>, Status> {
        let caller = self.caller(metadata)?;
        if caller.sees(name) {
            Ok(caller)
        } else {
            Err(crate::status::to_status(&Error::UnknownRepository(name.to_string())))
        }
    }

    /// Checks an admin call and returns its caller: `UNAUTHENTICATED`, or
    /// `PERMISSION_DENIED` for a token that is not an admin token.
    #[allow(clippy::result_large_err)]
    pub fn admin(&self, metadata: &MetadataMap) -> std::result::Result<Caller<'_>, Status> {
        let caller = self.caller(metadata)?;
        if caller.is_admin() {
            Ok(caller)
        } else {
            Err(Status::permission_denied("this token may not add, remove or index repositories"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(value: &str, repositories: &[&str], admin: bool) -> TokenConfig {
        TokenConfig {
            name: String::new(),
            token_env: None,
            token: Some(value.into()),
            repositories: repositories.iter().map(|name| name.to_string()).collect(),
            admin,
        }
    }

    fn bearer(value: &str) -> MetadataMap {
        let mut metadata = MetadataMap::new();
        metadata.insert("authorization", format!("Bearer {value}").parse().unwrap());
        metadata
    }

    #[test]
    fn tokens_scope_repositories_and_admin_calls() {
        let auth = Auth::from_config(&[
            token("reader-token-0123456789", &["requests"], false),
            token("admin-token-0123456789", &["*"], true),
        ])
        .unwrap();
        let reader = bearer("reader-token-0123456789");
        assert!(auth.repository(&reader, "requests").is_ok());
        let other = auth.repository(&reader, "flask").unwrap_err();
        assert_eq!(other.code(), tonic::Code::NotFound);
        assert_eq!(other.message(), "unknown repository: flask", "the same words as a missing repository");
        assert_eq!(auth.admin(&reader).unwrap_err().code(), tonic::Code::PermissionDenied);
        assert!(!auth.repository(&reader, "requests").unwrap().is_admin(), "the reader sees no server paths");
        let admin = bearer("admin-token-0123456789");
        assert!(auth.repository(&admin, "flask").unwrap().is_admin());
        assert!(auth.admin(&admin).is_ok());
        for metadata in [MetadataMap::new(), bearer("wrong-token-0123456789")] {
            assert_eq!(auth.repository(&metadata, "requests").unwrap_err().code(), tonic::Code::Unauthenticated);
            assert_eq!(auth.admin(&metadata).unwrap_err().code(), tonic::Code::Unauthenticated);
        }
        // Without tokens everything is open, server paths included.
        assert!(Auth::open().repository(&MetadataMap::new(), "flask").unwrap().is_admin());
    }

    #[test]
    fn bad_token_configs_are_refused() {
        assert!(Auth::from_config(&[token("short", &["*"], false)]).is_err());
        let missing =
            TokenConfig { token_env: Some("CODECTX_TEST_UNSET_TOKEN_VARIABLE".into()), ..TokenConfig::default() };
        assert!(Auth::from_config(&[missing]).is_err());
        let twice = token("same-token-0123456789", &["*"], false);
        assert!(Auth::from_config(&[twice.clone(), twice]).is_err());
    }
}
