//! Generated gRPC code for the `codectx.v1` API.
//!
//! The contract is `proto/codectx/v1/codectx.proto`; `build.rs` compiles it with
//! tonic-prost-build using the protoc shipped by `protoc-bin-vendored` (nothing to
//! install). [`FILE_DESCRIPTOR_SET`] feeds gRPC server reflection.
//!
//! The server decodes requests with [`codec::RequestCodec`], which answers a
//! request that is not a valid message (invalid UTF-8 in a `string` field, a bad
//! varint, a truncated field) with `INVALID_ARGUMENT`; the client keeps
//! tonic-prost's codec (an undecodable answer is `INTERNAL`).
#![allow(missing_docs, clippy::all)]

pub mod codec;

/// The `codectx.v1` package: messages, the `CodeContext` client and server.
pub mod v1 {
    tonic::include_proto!("codectx.v1");
    // The client, generated over the messages above (`build.rs`).
    include!(concat!(env!("OUT_DIR"), "/client/codectx.v1.rs"));
}

/// Encoded `FileDescriptorSet` of `codectx.v1`, for `tonic-reflection`.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("codectx_descriptor");
