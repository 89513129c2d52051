//! Generated gRPC code for the `codectx.v1` API.
//!
//! The contract is `proto/codectx/v1/codectx.proto`; `build.rs` compiles it with
//! tonic-prost-build using the protoc shipped by `protoc-bin-vendored` (nothing to
//! install). [`FILE_DESCRIPTOR_SET`] feeds gRPC server reflection.
#![allow(missing_docs, clippy::all)]

/// The `codectx.v1` package: messages, the `CodeContext` client and server.
pub mod v1 {
    tonic::include_proto!("codectx.v1");
}

/// Encoded `FileDescriptorSet` of `codectx.v1`, for `tonic-reflection`.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("codectx_descriptor");
