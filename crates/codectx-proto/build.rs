use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    // SAFETY: build scripts are single-threaded; PROTOC is read by prost-build below.
    unsafe { std::env::set_var("PROTOC", protoc) };
    // Read at run time, not with env!(): a build script compiled for another clone
    // sharing the target directory must still read this clone's proto.
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let proto = root.join("codectx/v1/codectx.proto");
    // Relative to the package root, so that a target directory shared between
    // clones (CI's cache) notices an edit in whichever clone builds.
    println!("cargo:rerun-if-changed=../../proto/codectx/v1/codectx.proto");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    // The messages and the server, whose requests are decoded by
    // `crate::codec::RequestCodec` (an undecodable request is the client's error:
    // INVALID_ARGUMENT, not tonic-prost's INTERNAL).
    tonic_prost_build::configure()
        .build_client(false)
        .codec_path("crate::codec::RequestCodec")
        .file_descriptor_set_path(out_dir.join("codectx_descriptor.bin"))
        .compile_protos(&[&proto], &[&root])?;
    // The client, in a file of its own over the same messages, with tonic-prost's
    // codec: an undecodable answer is the server's fault (INTERNAL).
    let client_dir = out_dir.join("client");
    std::fs::create_dir_all(&client_dir)?;
    tonic_prost_build::configure()
        .build_server(false)
        .extern_path(".codectx.v1", "crate::v1")
        .out_dir(&client_dir)
        .compile_protos(&[&proto], &[&root])?;
    Ok(())
}
