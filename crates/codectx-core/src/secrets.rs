//! The secret filter: files that are never indexed nor shown, and text that is
//! redacted from everything codectx hands out.
//!
//! Two kinds of rule, both set in the `[secrets]` section of the configuration
//! ([`SecretsConfig`]) and printed by `codectx secrets`:
//!
//! * **Path rules** ([`BUILTIN_EXCLUDE_PATHS`] plus `exclude_paths`): gitignore-style
//!   globs of files that hold credentials as a whole (`.env`, `*.pem`, `id_rsa`,
//!   `.npmrc`, `*.tfstate`, ...). The walker skips them, so they are never parsed,
//!   embedded, searched or shown. `allow_paths` (and [`BUILTIN_ALLOW_PATHS`], such
//!   as `.env.example`) re-include a file a glob excludes.
//! * **Patterns** ([`BUILTIN_PATTERNS`] plus `[[secrets.pattern]]`): named regular
//!   expressions for secret values inside ordinary files (a private key block, an
//!   AWS key id, a GitHub token, `password = "..."`). Text they match is replaced
//!   by `[REDACTED <name>]` wherever the index hands text out: context bundle
//!   blocks, search previews, symbol signatures and docs, reference lines, and the
//!   text sent to an embedder. Line structure is kept (a match over three lines
//!   becomes three markers on three lines), so `path:line` citations stay right.
//!
//! ```
//! use codectx_core::{SecretRules, SecretsConfig};
//! let rules = SecretRules::new(&SecretsConfig::default()).unwrap();
//! assert!(rules.is_excluded("deploy/.env"));
//! assert!(!rules.is_excluded(".env.example"));
//! let redacted = rules.redact("KEY_ID = \"AKIAIOSFODNN7EXAMPLE\"\n");
//! assert_eq!(redacted.text, "KEY_ID = \"[REDACTED aws-access-key-id]\"\n");
//! assert_eq!(redacted.count, 1);
//! ```

use std::borrow::Cow;

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use regex::{Regex, RegexSet};
use serde::{Deserialize, Serialize};

/// `[secrets]`: which files are never indexed nor shown, and which text is
/// redacted. Every field has a default: the built-in rules apply unless turned off.
///
/// ```toml
/// [secrets]
/// enabled = true                       # false: no file skipped, nothing redacted
/// exclude_paths = ["*.vault", "conf/prod/"]   # added to the built-in globs
/// allow_paths = ["config/test.env"]    # indexed even though a glob excludes it
/// disable = ["generic-assignment"]     # built-in patterns turned off, by name
///
/// [[secrets.pattern]]                  # added to the built-in patterns
/// name = "internal-token"
/// regex = 'itk_[A-Za-z0-9]{32}'
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecretsConfig {
    /// Whether the filter applies at all (default true).
    pub enabled: bool,
    /// Globs of files never indexed nor shown, in addition to
    /// [`BUILTIN_EXCLUDE_PATHS`]. Gitignore-style, over repository-relative paths:
    /// a glob without `/` matches a file or folder name at any depth (`*.pem`);
    /// one with `/` is anchored at the root (`conf/prod/*.yml`, `**/.aws/credentials`);
    /// a trailing `/` matches folders only (everything under them).
    pub exclude_paths: Vec<String>,
    /// Globs (same syntax) of files indexed even though an exclude glob matches
    /// them. Precedence, highest first: `allow_paths`, `exclude_paths`,
    /// [`BUILTIN_ALLOW_PATHS`], [`BUILTIN_EXCLUDE_PATHS`].
    pub allow_paths: Vec<String>,
    /// `[[secrets.pattern]]`: patterns added to [`BUILTIN_PATTERNS`]; one named like
    /// a built-in replaces it.
    #[serde(rename = "pattern")]
    pub patterns: Vec<SecretPattern>,
    /// Names of patterns (built-in or not) that do not apply.
    pub disable: Vec<String>,
}

impl Default for SecretsConfig {
    fn default() -> Self {
        SecretsConfig {
            enabled: true,
            exclude_paths: Vec::new(),
            allow_paths: Vec::new(),
            patterns: Vec::new(),
            disable: Vec::new(),
        }
    }
}

/// A named regular expression (Rust `regex` syntax) for secret values. The whole
/// match is redacted, or only its capture group named `secret` when it has one
/// (`password = "(?P<secret>...)"` keeps the `password = ` visible). Prefer the
/// ASCII word boundary `(?-u:\b)` to `\b`, as the built-ins do: a Unicode `\b`
/// makes every text with a non-ASCII character much slower to check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretPattern {
    /// The name shown in `[REDACTED <name>]`: letters, digits, `-`, `_`, `.`.
    pub name: String,
    /// The expression.
    pub regex: String,
}

/// A built-in pattern, with what it is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltinPattern {
    /// Its name (what `disable` takes, and what the marker shows).
    pub name: &'static str,
    /// The expression.
    pub regex: &'static str,
    /// What it catches, for `codectx secrets` and the docs.
    pub description: &'static str,
}

/// Files that hold credentials as a whole: environment files, private keys and
/// key stores, credential files of package managers and clouds, secret manifests,
/// Terraform state. Public keys of `id_*` pairs are caught too (harmless).
pub const BUILTIN_EXCLUDE_PATHS: &[&str] = &[
    ".env",
    ".env.*",
    "*.env",
    ".envrc",
    "*.pem",
    "*.key",
    "*.p8",
    "*.p12",
    "*.pfx",
    "*.jks",
    "*.keystore",
    "*.ppk",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    ".npmrc",
    ".pypirc",
    ".netrc",
    "_netrc",
    ".git-credentials",
    ".pgpass",
    ".htpasswd",
    ".dockercfg",
    "**/.docker/config.json",
    "**/.aws/credentials",
    "**/.kube/config",
    "credentials*.json",
    "client_secret*.json",
    "service-account*.json",
    "secret.{json,yaml,yml,toml,ini,env,txt}",
    "secrets.{json,yaml,yml,toml,ini,env,txt}",
    "*.secret",
    "*.secrets",
    "*.tfstate",
    "*.tfstate.backup",
];

/// Templates that `.env.*` would exclude but that hold placeholders, not secrets.
pub const BUILTIN_ALLOW_PATHS: &[&str] = &[".env.example", ".env.sample", ".env.template", ".env.dist"];

/// The built-in patterns, in the order they apply.
pub const BUILTIN_PATTERNS: &[BuiltinPattern] = &[
    BuiltinPattern {
        name: "private-key",
        regex: concat!(
            // A whole block (or its start, when the text ends inside it): what lies
            // between the markers is base64, white space, quotes, `\n` escapes,
            // string concatenation and `Name: value` header lines, never code, so
            // that code which only names a marker (a PEM parser) is left alone.
            r"-----BEGIN[ A-Z0-9_-]{0,40}PRIVATE KEY(?: BLOCK)?-----",
            r#"(?:[A-Za-z0-9+/=\s"'`\\,()]|[A-Za-z-]{2,20}:[ \t][^\n]*)*?"#,
            r"(?:-----END[ A-Z0-9_-]{0,40}PRIVATE KEY(?: BLOCK)?-----|\z)",
            // Its end without its start (a chunk that begins inside a block).
            r#"|(?m:(?:^[ \t"'`]*[A-Za-z0-9+/]{40,}={0,2}[ \t"'`,+]*(?:\\n)?[ \t"'`,+]*\r?\n)+[ \t"'`]*-----END[ A-Z0-9_-]{0,40}PRIVATE KEY(?: BLOCK)?-----)"#,
            // Its middle: two or more lines of 60+ base64 characters.
            r#"|(?m:(?:^[ \t"'`]*[A-Za-z0-9+/]{60,}={0,2}[ \t"'`,+]*(?:\\n)?[ \t"'`,+]*(?:\r?\n|\z)){2,})"#,
        ),
        description: "PEM private key blocks (RSA, EC, DSA, OpenSSH, PGP), also cut off at either end, \
                      and runs of two or more 60+-character base64 lines",
    },
    BuiltinPattern {
        name: "aws-access-key-id",
        regex: r"(?-u:\b)(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}(?-u:\b)",
        description: "AWS access key ids (AKIA..., ASIA...)",
    },
    BuiltinPattern {
        name: "aws-secret-access-key",
        regex: r#"(?i)aws_?secret_?access_?key["']?[ \t]*(?::=|=>|=|:)[ \t]*["']?(?P<secret>[A-Za-z0-9/+]{40})"#,
        description: "AWS secret access keys assigned to an aws_secret_access_key name",
    },
    BuiltinPattern {
        name: "github-token",
        regex: r"(?-u:\b)(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})",
        description: "GitHub tokens (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_)",
    },
    BuiltinPattern {
        name: "gitlab-token",
        regex: r"(?-u:\b)glpat-[A-Za-z0-9_-]{20,}",
        description: "GitLab personal access tokens (glpat-)",
    },
    BuiltinPattern {
        name: "slack-token",
        regex: r"(?-u:\b)xox[abposr]-[A-Za-z0-9-]{10,}",
        description: "Slack tokens (xoxb-, xoxa-, xoxp-, xoxr-, xoxs-, xoxo-)",
    },
    BuiltinPattern {
        name: "slack-webhook",
        regex: r"https://hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9_/]{20,}",
        description: "Slack incoming webhook URLs",
    },
    BuiltinPattern {
        name: "stripe-key",
        regex: r"(?-u:\b)[rs]k_(?:live|test)_[A-Za-z0-9]{20,}",
        description: "Stripe secret and restricted keys (sk_live_, rk_test_, ...)",
    },
    BuiltinPattern {
        name: "google-api-key",
        regex: r"(?-u:\b)AIza[0-9A-Za-z_-]{35}",
        description: "Google API keys (AIza...)",
    },
    BuiltinPattern {
        name: "openai-api-key",
        regex: r"(?-u:\b)sk-[A-Za-z0-9_-]{32,}",
        description: "sk-... API keys of OpenAI, Anthropic (sk-ant-) and OpenAI-compatible services",
    },
    BuiltinPattern {
        name: "jwt",
        regex: r"(?-u:\b)eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}",
        description: "JSON Web Tokens (three base64url parts, header and payload starting eyJ)",
    },
    BuiltinPattern {
        name: "url-credentials",
        regex: r#"(?-u:\b)[A-Za-z][A-Za-z0-9+.-]{1,20}://[^\s/:@'"{}$]{1,64}:(?P<secret>[^\s/:@'"{}$]{3,128})@"#,
        description: "the password of user:password@ in a URL (postgres://app:PASSWORD@db)",
    },
    BuiltinPattern {
        name: "generic-assignment",
        regex: concat!(
            r"(?i)(?:passwd|password|passphrase|secret|secret[_-]?key|token|api[_-]?key|apikey|access[_-]?key",
            r"|auth[_-]?key|private[_-]?key|client[_-]?secret|credentials?)",
            r#"["']?[ \t]*(?::=|=>|=|:)[ \t]*[rbuf]{0,2}["'](?P<secret>[^"'\s]{8,})["']"#
        ),
        description: "a quoted value of 8+ characters assigned to a name ending in password, secret, \
                      token, api_key, access_key, private_key, client_secret, credentials (any case)",
    },
    BuiltinPattern {
        name: "env-assignment",
        regex: concat!(
            r"(?m)^[ \t]*(?:-[ \t]+)?(?:export[ \t]+|ENV[ \t]+)?[A-Z0-9_]*(?:",
            "PASSWD|PASSWORD|PASSPHRASE|SECRET|SECRET_?KEY|TOKEN|API_?KEY|ACCESS_?KEY|AUTH_?KEY|PRIVATE_?KEY|CLIENT_?SECRET|CREDENTIALS?",
            r")[ \t]*[=:][ \t]*(?P<secret>[A-Za-z0-9_+/=~@%!*^-]{8,})[ \t]*\r?$"
        ),
        description: "an unquoted value of 8+ characters on a NAME=value line whose upper-case name ends \
                      like those of generic-assignment (shell, Dockerfile ENV, compose files, YAML)",
    },
];

/// The compiled [`SecretsConfig`]: answers whether a path is excluded, and
/// redacts text. Cheap to clone (compiled expressions are shared).
#[derive(Debug, Clone)]
pub struct SecretRules {
    enabled: bool,
    user_allow: GlobList,
    user_exclude: GlobList,
    builtin_allow: GlobList,
    builtin_exclude: GlobList,
    patterns: Vec<CompiledPattern>,
    set: RegexSet,
}

#[derive(Debug, Clone)]
struct CompiledPattern {
    name: String,
    regex: Regex,
    /// Index of the `secret` capture group, if the expression has one.
    secret_group: Option<usize>,
    builtin: bool,
    description: String,
}

/// Text after redaction, and how many matches were redacted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redacted<'t> {
    /// The text, borrowed when nothing matched.
    pub text: Cow<'t, str>,
    /// Matches replaced (overlapping matches count once).
    pub count: usize,
}

/// One redacted span of a text (see [`SecretRules::find`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretMatch<'r> {
    /// The pattern that matched.
    pub rule: &'r str,
    /// Byte range in the text.
    pub start: usize,
    /// End of the byte range (exclusive).
    pub end: usize,
    /// First line of the span, 1-based.
    pub start_line: u32,
    /// Last line of the span, 1-based, inclusive.
    pub end_line: u32,
}

impl SecretRules {
    /// Compiles a configuration: the built-in globs and patterns, then the
    /// configured ones.
    ///
    /// Errors: a one-line reason starting `[secrets]` and naming the glob or
    /// pattern at fault (an invalid glob or expression, an expression that
    /// matches the empty string, a bad or repeated pattern name, an unknown name
    /// in `disable`).
    pub fn new(config: &SecretsConfig) -> Result<SecretRules, String> {
        let user_allow = GlobList::compile("allow_paths", config.allow_paths.iter().map(String::as_str))?;
        let user_exclude = GlobList::compile("exclude_paths", config.exclude_paths.iter().map(String::as_str))?;
        let builtin_allow = GlobList::compile("built-in allow", BUILTIN_ALLOW_PATHS.iter().copied())?;
        let builtin_exclude = GlobList::compile("built-in exclude", BUILTIN_EXCLUDE_PATHS.iter().copied())?;

        let mut seen = std::collections::HashSet::new();
        for pattern in &config.patterns {
            let valid = !pattern.name.is_empty()
                && pattern.name.len() <= 64
                && pattern.name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
            if !valid {
                return Err(format!(
                    "[secrets] pattern name {:?}: use 1 to 64 letters, digits, '-', '_' or '.'",
                    pattern.name
                ));
            }
            if !seen.insert(pattern.name.as_str()) {
                return Err(format!("[secrets] pattern {:?} is defined twice", pattern.name));
            }
        }
        for name in &config.disable {
            let known = BUILTIN_PATTERNS.iter().any(|builtin| builtin.name == name)
                || config.patterns.iter().any(|pattern| &pattern.name == name);
            if !known {
                let names: Vec<&str> = BUILTIN_PATTERNS.iter().map(|builtin| builtin.name).collect();
                return Err(format!("[secrets] disable: no pattern named {name:?} (built-in: {})", names.join(", ")));
            }
        }

        // Built-ins in their order (a configured pattern of the same name takes
        // its place), then the configured ones.
        let mut sources: Vec<(String, String, bool, String)> = Vec::new();
        for builtin in BUILTIN_PATTERNS {
            match config.patterns.iter().find(|pattern| pattern.name == builtin.name) {
                Some(own) => sources.push((own.name.clone(), own.regex.clone(), false, String::new())),
                None => sources.push((
                    builtin.name.into(),
                    builtin.regex.into(),
                    true,
                    builtin.description.split_whitespace().collect::<Vec<_>>().join(" "),
                )),
            }
        }
        for pattern in &config.patterns {
            if !BUILTIN_PATTERNS.iter().any(|builtin| builtin.name == pattern.name) {
                sources.push((pattern.name.clone(), pattern.regex.clone(), false, String::new()));
            }
        }
        sources.retain(|(name, ..)| !config.disable.contains(name));

        let mut patterns = Vec::with_capacity(sources.len());
        for (name, source, builtin, description) in sources {
            let regex = Regex::new(&source)
                .map_err(|error| format!("[secrets] pattern {name:?}: invalid regex: {}", regex_reason(&error)))?;
            if regex.is_match("") {
                return Err(format!("[secrets] pattern {name:?}: the regex matches the empty string"));
            }
            let secret_group = regex.capture_names().position(|group| group == Some("secret"));
            patterns.push(CompiledPattern { name, regex, secret_group, builtin, description });
        }
        let set = RegexSet::new(patterns.iter().map(|pattern| pattern.regex.as_str()))
            .map_err(|error| format!("[secrets] patterns: {}", regex_reason(&error)))?;
        Ok(SecretRules {
            enabled: config.enabled,
            user_allow,
            user_exclude,
            builtin_allow,
            builtin_exclude,
            patterns,
            set,
        })
    }

    /// Whether the filter applies (`[secrets] enabled`).
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The glob that excludes `path` (repository-relative, `/`-separated), or
    /// `None` when the file may be indexed. The file's own path and each of its
    /// folders are matched.
    pub fn excluded_by(&self, path: &str) -> Option<&str> {
        if !self.enabled {
            return None;
        }
        if self.user_allow.first_match(path).is_some() {
            return None;
        }
        if let Some(glob) = self.user_exclude.first_match(path) {
            return Some(glob);
        }
        let glob = self.builtin_exclude.first_match(path)?;
        self.builtin_allow.first_match(path).is_none().then_some(glob)
    }

    /// Whether `path` is never indexed nor shown ([`SecretRules::excluded_by`]).
    pub fn is_excluded(&self, path: &str) -> bool {
        self.excluded_by(path).is_some()
    }

    /// `text` with every match of a pattern replaced by `[REDACTED <name>]`, one
    /// marker per line the match covers (newlines and each line's indentation are
    /// kept, so line numbers do not move). Borrowed when nothing matched.
    pub fn redact<'t>(&self, text: &'t str) -> Redacted<'t> {
        let spans = self.spans(text);
        if spans.is_empty() {
            return Redacted { text: Cow::Borrowed(text), count: 0 };
        }
        let mut out = String::with_capacity(text.len() + spans.len() * 16);
        let mut at = 0;
        for &(start, end, pattern) in &spans {
            out.push_str(&text[at..start]);
            let name = &self.patterns[pattern].name;
            for (index, line) in text[start..end].split('\n').enumerate() {
                if index > 0 {
                    out.push('\n');
                }
                let (body, carriage) = match line.strip_suffix('\r') {
                    Some(body) => (body, "\r"),
                    None => (line, ""),
                };
                let rest = body.trim_start();
                out.push_str(&body[..body.len() - rest.len()]);
                if !rest.is_empty() {
                    out.push_str("[REDACTED ");
                    out.push_str(name);
                    out.push(']');
                }
                out.push_str(carriage);
            }
            at = end;
        }
        out.push_str(&text[at..]);
        Redacted { text: Cow::Owned(out), count: spans.len() }
    }

    /// [`SecretRules::redact`] in place; returns the number of matches redacted.
    pub fn redact_in_place(&self, text: &mut String) -> usize {
        let (replaced, count) = match self.redact(text) {
            Redacted { text: Cow::Owned(new), count } => (Some(new), count),
            Redacted { count, .. } => (None, count),
        };
        if let Some(new) = replaced {
            *text = new;
        }
        count
    }

    /// The spans [`SecretRules::redact`] replaces, in text order, with the pattern
    /// and the lines of each (never the matched text).
    pub fn find(&self, text: &str) -> Vec<SecretMatch<'_>> {
        let mut line = 1u32;
        let mut counted = 0;
        let mut count_to = |offset: usize| {
            line += text.as_bytes()[counted..offset].iter().filter(|&&byte| byte == b'\n').count() as u32;
            counted = offset;
            line
        };
        self.spans(text)
            .into_iter()
            .map(|(start, end, pattern)| {
                let start_line = count_to(start);
                // The last byte of the span (a span ending in a newline ends on its line).
                let end_line = count_to(end.saturating_sub(1).max(start));
                SecretMatch { rule: &self.patterns[pattern].name, start, end, start_line, end_line }
            })
            .collect()
    }

    /// Every rule in force, for display (`codectx secrets`).
    pub fn active(&self) -> ActiveRules {
        let paths = |list: &GlobList, builtin: bool| -> Vec<ActivePath> {
            list.globs.iter().map(|glob| ActivePath { glob: glob.clone(), builtin }).collect()
        };
        let mut exclude_paths = paths(&self.builtin_exclude, true);
        exclude_paths.extend(paths(&self.user_exclude, false));
        let mut allow_paths = paths(&self.builtin_allow, true);
        allow_paths.extend(paths(&self.user_allow, false));
        let patterns = self
            .patterns
            .iter()
            .map(|pattern| ActivePattern {
                name: pattern.name.clone(),
                regex: pattern.regex.as_str().to_string(),
                builtin: pattern.builtin,
                description: pattern.description.clone(),
            })
            .collect();
        let disabled = BUILTIN_PATTERNS
            .iter()
            .map(|builtin| builtin.name.to_string())
            .filter(|name| !self.patterns.iter().any(|pattern| &pattern.name == name))
            .collect();
        ActiveRules { enabled: self.enabled, exclude_paths, allow_paths, patterns, disabled }
    }

    /// Merged `(start, end, pattern index)` byte spans to redact, in text order.
    fn spans(&self, text: &str) -> Vec<(usize, usize, usize)> {
        if !self.enabled || self.patterns.is_empty() {
            return Vec::new();
        }
        // Most texts hold no secret: one pass of the set says so (the patterns'
        // word boundaries are ASCII, `(?-u:\b)`, so the set runs as a DFA even on
        // non-ASCII text); only a text it matches is searched rule by rule.
        if !self.set.is_match(text) {
            return Vec::new();
        }
        let matched = self.set.matches(text);
        let mut spans = Vec::new();
        for index in matched.iter() {
            let pattern = &self.patterns[index];
            match pattern.secret_group {
                Some(group) => spans.extend(
                    pattern
                        .regex
                        .captures_iter(text)
                        .filter_map(|captures| captures.get(group))
                        .filter(|found| !found.is_empty())
                        .map(|found| (found.start(), found.end(), index)),
                ),
                None => spans.extend(
                    pattern
                        .regex
                        .find_iter(text)
                        .filter(|found| !found.is_empty())
                        .map(|found| (found.start(), found.end(), index)),
                ),
            }
        }
        // Earliest first, the longest of those first; overlapping spans merge
        // under the first one's name.
        spans.sort_by_key(|&(start, end, index)| (start, std::cmp::Reverse(end), index));
        let mut merged: Vec<(usize, usize, usize)> = Vec::with_capacity(spans.len());
        for span in spans {
            match merged.last_mut() {
                Some(last) if span.0 < last.1 => last.1 = last.1.max(span.1),
                _ => merged.push(span),
            }
        }
        merged
    }
}

impl Default for SecretRules {
    /// The built-in rules.
    fn default() -> Self {
        SecretRules::new(&SecretsConfig::default()).expect("the built-in secret rules compile")
    }
}

/// The rules in force, as `codectx secrets` shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveRules {
    /// `[secrets] enabled`.
    pub enabled: bool,
    /// Globs of files never indexed nor shown.
    pub exclude_paths: Vec<ActivePath>,
    /// Globs of files indexed even though an exclude glob matches.
    pub allow_paths: Vec<ActivePath>,
    /// Patterns whose matches are redacted, in the order they apply.
    pub patterns: Vec<ActivePattern>,
    /// Built-in patterns turned off (`disable`).
    pub disabled: Vec<String>,
}

/// One path glob in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivePath {
    /// The glob as written.
    pub glob: String,
    /// Built in, or from the configuration.
    pub builtin: bool,
}

/// One pattern in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivePattern {
    /// Its name.
    pub name: String,
    /// Its expression.
    pub regex: String,
    /// Built in, or from the configuration.
    pub builtin: bool,
    /// What a built-in catches (empty for configured ones).
    pub description: String,
}

impl ActiveRules {
    /// The rules as text, one rule per line.
    pub fn render(&self) -> String {
        use std::fmt::Write;
        let origin = |builtin: bool| if builtin { "built-in" } else { "config" };
        let mut out = String::new();
        if !self.enabled {
            out.push_str(
                "secret filter: off ([secrets] enabled = false): every file is indexed, nothing is redacted\n",
            );
            return out;
        }
        out.push_str("secret filter: on\n\nfiles never indexed nor shown (exclude_paths):\n");
        for path in &self.exclude_paths {
            let _ = writeln!(out, "  {:<40} {}", path.glob, origin(path.builtin));
        }
        out.push_str("\nindexed even so (allow_paths, which win over exclude_paths):\n");
        for path in &self.allow_paths {
            let _ = writeln!(out, "  {:<40} {}", path.glob, origin(path.builtin));
        }
        out.push_str("\ntext replaced by [REDACTED <name>] (patterns):\n");
        for pattern in &self.patterns {
            let _ = writeln!(out, "  {:<24} {}", pattern.name, origin(pattern.builtin));
            if !pattern.description.is_empty() {
                let _ = writeln!(out, "      {}", pattern.description);
            }
            let _ = writeln!(out, "      regex: {}", pattern.regex);
        }
        if !self.disabled.is_empty() {
            let _ = writeln!(out, "\ndisabled built-in patterns: {}", self.disabled.join(", "));
        }
        out
    }
}

/// Something `codectx secrets scan` found: a file the path rules exclude, or a
/// span a pattern redacts. Never holds the secret itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretFinding {
    /// Repository-relative path.
    pub path: String,
    /// First line of a redacted span (0 for an excluded file).
    pub start_line: u32,
    /// Last line of a redacted span (0 for an excluded file).
    pub end_line: u32,
    /// The pattern name, or for an excluded file the glob that excludes it.
    pub rule: String,
    /// Whether the whole file is excluded (else a span of it is redacted).
    pub excluded: bool,
}

impl std::fmt::Display for SecretFinding {
    /// `deploy/id_rsa  excluded (id_rsa*)`, `src/a.py:3  redacted (aws-access-key-id)`,
    /// `src/k.py:4-30  redacted (private-key)`.
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.excluded {
            write!(formatter, "{}  excluded ({})", self.path, self.rule)
        } else if self.start_line == self.end_line {
            write!(formatter, "{}:{}  redacted ({})", self.path, self.start_line, self.rule)
        } else {
            write!(formatter, "{}:{}-{}  redacted ({})", self.path, self.start_line, self.end_line, self.rule)
        }
    }
}

/// Compiled globs of one list, with the index of each in the list.
#[derive(Debug, Clone)]
struct GlobList {
    globs: Vec<String>,
    /// Globs that match a file or a folder, and their indexes in `globs`.
    any: GlobSet,
    any_ids: Vec<usize>,
    /// Globs written with a trailing `/`: folders only.
    dirs: GlobSet,
    dir_ids: Vec<usize>,
}

impl GlobList {
    fn compile<'a>(field: &str, globs: impl IntoIterator<Item = &'a str>) -> Result<GlobList, String> {
        let (mut any, mut dirs) = (GlobSetBuilder::new(), GlobSetBuilder::new());
        let (mut any_ids, mut dir_ids, mut list) = (Vec::new(), Vec::new(), Vec::new());
        for (index, written) in globs.into_iter().enumerate() {
            let mut glob = written.trim();
            let dir_only = glob.ends_with('/');
            glob = glob.trim_end_matches('/');
            let anchored = glob.contains('/');
            glob = glob.trim_start_matches('/');
            if glob.is_empty() {
                return Err(format!("[secrets] {field}: empty glob {written:?}"));
            }
            let full = if anchored { glob.to_string() } else { format!("**/{glob}") };
            let compiled = GlobBuilder::new(&full)
                .literal_separator(true)
                .backslash_escape(true)
                .build()
                .map_err(|error| format!("[secrets] {field} {written:?}: {}", error.kind()))?;
            if dir_only {
                dirs.add(compiled);
                dir_ids.push(index);
            } else {
                any.add(compiled);
                any_ids.push(index);
            }
            list.push(written.to_string());
        }
        let build =
            |builder: GlobSetBuilder| builder.build().map_err(|error| format!("[secrets] {field}: {}", error.kind()));
        Ok(GlobList { globs: list, any: build(any)?, any_ids, dirs: build(dirs)?, dir_ids })
    }

    /// The first glob (in list order) matching the file or one of its folders.
    fn first_match(&self, path: &str) -> Option<&str> {
        if self.globs.is_empty() {
            return None;
        }
        let mut best: Option<usize> = None;
        let mut consider = |set: &GlobSet, ids: &[usize], candidate: &str| {
            if let Some(index) = set.matches(candidate).into_iter().map(|at| ids[at]).min() {
                best = Some(best.map_or(index, |best| best.min(index)));
            }
        };
        consider(&self.any, &self.any_ids, path);
        for (at, _) in path.match_indices('/') {
            let folder = &path[..at];
            consider(&self.any, &self.any_ids, folder);
            consider(&self.dirs, &self.dir_ids, folder);
        }
        best.map(|index| self.globs[index].as_str())
    }
}

/// A regex error on one line: the `error: ...` line of a syntax error (whose
/// message draws the pattern over several lines), else the message.
fn regex_reason(error: &regex::Error) -> String {
    let message = error.to_string();
    message
        .lines()
        .rev()
        .find_map(|line| line.trim().strip_prefix("error: "))
        .map(str::to_string)
        .unwrap_or_else(|| message.split_whitespace().collect::<Vec<_>>().join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> SecretRules {
        SecretRules::default()
    }

    fn config(text: &str) -> Result<SecretRules, String> {
        let config: SecretsConfig = toml::from_str(text).map_err(|error| error.to_string())?;
        SecretRules::new(&config)
    }

    #[test]
    fn builtin_paths_exclude_credential_files_at_any_depth() {
        let rules = rules();
        for path in [
            ".env",
            "app/.env",
            ".env.production",
            "deploy/prod.env",
            "deploy/id_rsa",
            "home/.ssh/id_ed25519.pub",
            "certs/server.pem",
            "certs/server.key",
            ".npmrc",
            "pkg/.pypirc",
            "gcp/credentials-prod.json",
            "k8s/secrets.yaml",
            "infra/terraform.tfstate",
            ".aws/credentials",
            "ci/.docker/config.json",
        ] {
            assert!(rules.is_excluded(path), "{path} should be excluded");
        }
        for path in [
            ".env.example",
            "app/.env.sample",
            "src/secrets.py",
            "crates/core/src/secrets.rs",
            "src/keys.rs",
            "environment.ts",
            "src/env.rs",
            "docs/credentials.md",
            "README.md",
        ] {
            assert!(!rules.is_excluded(path), "{path} should be indexed");
        }
        assert_eq!(rules.excluded_by("deploy/id_rsa"), Some("id_rsa*"));
    }

    #[test]
    fn configured_globs_add_and_allow_wins() {
        let rules = config(
            "exclude_paths = [\"*.vault\", \"conf/prod/\", \"/top.txt\", \".env.example\"]\nallow_paths = [\"deploy/id_rsa\"]\n",
        )
        .unwrap();
        assert!(rules.is_excluded("a/b/x.vault"));
        assert!(rules.is_excluded("conf/prod/db.yml"));
        assert!(rules.is_excluded("conf/prod/deep/db.yml"));
        assert!(!rules.is_excluded("conf/prod"), "a folder glob does not match a file of that name");
        assert!(!rules.is_excluded("other/conf/prod/db.yml"), "a glob with / is anchored");
        assert!(rules.is_excluded("top.txt"));
        assert!(!rules.is_excluded("sub/top.txt"));
        // A configured exclusion beats a built-in allowance, a configured allowance everything.
        assert_eq!(rules.excluded_by(".env.example"), Some(".env.example"));
        assert!(!rules.is_excluded("deploy/id_rsa"));
        assert!(rules.is_excluded("other/id_rsa"));

        let off = config("enabled = false\n").unwrap();
        assert!(!off.is_excluded(".env"));
        assert_eq!(off.redact("AKIAIOSFODNN7EXAMPLE").count, 0);
    }

    #[test]
    fn redacts_each_builtin_pattern() {
        let rules = rules();
        let cases = [
            ("id = 'AKIAIOSFODNN7EXAMPLE'", "aws-access-key-id", "AKIAIOSFODNN7EXAMPLE"),
            (
                "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "aws-secret-access-key",
                "wJalrXUtnFEMI",
            ),
            ("t = \"ghp_0123456789abcdefghijABCDEFGHIJ012345\"", "github-token", "ghp_0123"),
            ("t = github_pat_11ABCDEFG0123456789_abcdefghijklmnop", "github-token", "github_pat_11"),
            ("gl = glpat-abcdefghij0123456789", "gitlab-token", "glpat-"),
            ("slack: xoxb-1234567890-abcdefghij", "slack-token", "xoxb-"),
            (
                "hook https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXX",
                "slack-webhook",
                "hooks.slack.com",
            ),
            ("stripe.key = sk_live_abcdefghij0123456789ABCD", "stripe-key", "sk_live_"),
            ("key: AIzaSyA-abcdefghijklmnopqrstuvwxyz01234", "google-api-key", "AIzaSy"),
            ("OPENAI = sk-proj-abcdefghijklmnopqrstuvwxyz0123456789", "openai-api-key", "sk-proj-"),
            (
                "auth = eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
                "jwt",
                "eyJhbGci",
            ),
            ("url = 'postgres://app:hunter2hunter2@db:5432/app'", "url-credentials", "hunter2"),
            ("db_password = \"correct-horse-battery\"", "generic-assignment", "correct-horse"),
            ("{\"apiKey\": \"abcd1234efgh5678\"}", "generic-assignment", "abcd1234"),
            ("ENV GITHUB_DEPLOY_TOKEN=abc123def456ghi", "env-assignment", "abc123def"),
            ("  - DB_PASSWORD=s3cr3tpassw0rd", "env-assignment", "s3cr3t"),
        ];
        for (text, rule, secret) in cases {
            let redacted = rules.redact(text);
            assert!(!redacted.text.contains(secret), "{rule}: {text} -> {}", redacted.text);
            assert!(redacted.text.contains(&format!("[REDACTED {rule}]")), "{rule}: {text} -> {}", redacted.text);
        }
    }

    #[test]
    fn keeps_names_and_ordinary_code() {
        let rules = rules();
        let redacted = rules.redact("password = \"hunter2hunter2\"  # the admin's\n");
        assert_eq!(redacted.text, "password = \"[REDACTED generic-assignment]\"  # the admin's\n");
        for code in [
            "token = get_token(request)",
            "password = request.form[\"password\"]",
            "if password == \"hunter2hunter2\":",
            "TOKEN_URL = \"https://oauth2.example.com/token\"",
            "token_type = \"bearer\"",
            "let max_tokens = 400;",
            "SECRET_KEY = env(\"SECRET_KEY\")",
            "url = f\"postgres://{user}:{password}@{host}\"",
            "def task_scheduler_registry_lookup_table_builder(): pass",
            "const risk = 'sk-learn';",
            "fn is_key(line: &str) -> bool {\n    line.starts_with(\"-----BEGIN RSA PRIVATE KEY-----\")\n}\nfn other() {}\n",
            "BEGIN = \"-----BEGIN PRIVATE KEY-----\"\ndef parse(text):\n    return text.split(BEGIN)[1]\nEND = \"-----END PRIVATE KEY-----\"\n",
        ] {
            assert_eq!(rules.redact(code).count, 0, "{code} -> {}", rules.redact(code).text);
        }
    }

    #[test]
    fn a_private_key_block_keeps_its_lines() {
        let rules = rules();
        let body = "MIIEowIBAAKCAQEAx1hJ2Kq0Jm9b7Tt3wQ8mZ0bVx4oJ5cYpGk7VbA9nQ2uLz3Ee";
        let text = format!(
            "def load():\n    key = \"\"\"-----BEGIN RSA PRIVATE KEY-----\n    {body}\n    {body}\n    -----END RSA PRIVATE KEY-----\"\"\"\n    return key\n"
        );
        let redacted = rules.redact(&text);
        assert_eq!(redacted.count, 1);
        assert_eq!(
            redacted.text,
            "def load():\n    key = \"\"\"[REDACTED private-key]\n    [REDACTED private-key]\n    [REDACTED private-key]\n    [REDACTED private-key]\"\"\"\n    return key\n"
        );
        assert_eq!(redacted.text.lines().count(), text.lines().count());
        let found = rules.find(&text);
        assert_eq!((found[0].rule, found[0].start_line, found[0].end_line), ("private-key", 2, 5));

        // A block cut by a chunk boundary: its head, its tail, its middle.
        let head = format!("-----BEGIN OPENSSH PRIVATE KEY-----\n{body}\n");
        assert!(!rules.redact(&head).text.contains(body));
        let tail = format!("{body}\n{body}\n-----END OPENSSH PRIVATE KEY-----\nrest = 1\n");
        let redacted = rules.redact(&tail);
        assert!(!redacted.text.contains(body), "{}", redacted.text);
        assert!(redacted.text.ends_with("[REDACTED private-key]\nrest = 1\n"));
        let encrypted = format!(
            "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,0A1B\n\n{body}\n-----END RSA PRIVATE KEY-----\n"
        );
        assert_eq!(
            rules.redact(&encrypted).text,
            "[REDACTED private-key]\n".repeat(3) + "\n" + &"[REDACTED private-key]\n".repeat(2)
        );
        let escaped = format!("K = \"-----BEGIN PRIVATE KEY-----\\n{body}\\n-----END PRIVATE KEY-----\\n\";\n");
        assert_eq!(rules.redact(&escaped).text, "K = \"[REDACTED private-key]\\n\";\n");
        let middle = format!("\"{body}\"\n\"{body}\"\n");
        assert!(!rules.redact(&middle).text.contains(body));
        // Public material and a single long line of code are left alone.
        let public = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n";
        assert_eq!(rules.redact(public).count, 0);
    }

    #[test]
    fn crlf_lines_and_overlaps() {
        let rules = rules();
        let text = "a = 1\r\napi_key = \"AKIAIOSFODNN7EXAMPLE\"\r\nb = 2\r\n";
        let redacted = rules.redact(text);
        assert_eq!(redacted.count, 1, "overlapping matches count once");
        assert_eq!(redacted.text.matches("\r\n").count(), 3);
        assert!(!redacted.text.contains("AKIA"));
        let found = rules.find(text);
        assert_eq!((found[0].start_line, found[0].end_line), (2, 2));
        // A span ending in a multi-byte character.
        let text = "é\npassword = \"pässwörd-é\"\n";
        assert_eq!(rules.redact(text).text, "é\npassword = \"[REDACTED generic-assignment]\"\n");
        assert_eq!((rules.find(text)[0].start_line, rules.find(text)[0].end_line), (2, 2));
    }

    #[test]
    fn configured_patterns_replace_add_and_disable() {
        let rules = config(
            "disable = [\"generic-assignment\"]\n[[pattern]]\nname = \"internal\"\nregex = 'itk_[a-z0-9]{8}'\n[[pattern]]\nname = \"jwt\"\nregex = 'JWT\\.(?P<secret>[a-z]+)'\n",
        )
        .unwrap();
        assert_eq!(rules.redact("password = \"hunter2hunter2\"").count, 0);
        assert_eq!(rules.redact("x = itk_abcd1234").text, "x = [REDACTED internal]");
        assert_eq!(rules.redact("JWT.abc").text, "JWT.[REDACTED jwt]");
        let active = rules.active();
        assert_eq!(active.disabled, vec!["generic-assignment".to_string()]);
        assert!(active.patterns.iter().any(|pattern| pattern.name == "internal" && !pattern.builtin));
        assert!(active.render().contains("itk_[a-z0-9]{8}"));
    }

    #[test]
    fn invalid_rules_are_one_line_errors() {
        let error = config("[[pattern]]\nname = \"bad\"\nregex = 'ab(c'\n").unwrap_err();
        assert!(error.starts_with("[secrets] pattern \"bad\": invalid regex"), "{error}");
        assert!(!error.contains('\n'), "{error}");
        let error = config("[[pattern]]\nname = \"empty\"\nregex = 'a*'\n").unwrap_err();
        assert!(error.contains("empty string"), "{error}");
        let error = config("exclude_paths = [\"a[\"]\n").unwrap_err();
        assert!(error.starts_with("[secrets] exclude_paths \"a[\""), "{error}");
        assert!(!error.contains('\n'), "{error}");
        let error = config("disable = [\"nope\"]\n").unwrap_err();
        assert!(error.contains("no pattern named \"nope\""), "{error}");
        let error = config("[[pattern]]\nname = \"has space\"\nregex = 'x'\n").unwrap_err();
        assert!(error.contains("pattern name"), "{error}");
    }
}
