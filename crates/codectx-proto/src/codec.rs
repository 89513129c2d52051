//! The codec of the generated `CodeContext` server: prost encoding and decoding,
//! with a request that does not decode answered as the client's error.
//!
//! tonic-prost's `ProstCodec` maps every protobuf decode error to `INTERNAL`
//! (the gRPC table's "error parsing request proto"). For this API an undecodable
//! request is always the sender's mistake (a `string` field that is not UTF-8, a
//! varint of more than ten bytes, a length past the end of the message), and
//! `INTERNAL` would tell clients and their retry policies that the server is at
//! fault. [`RequestCodec`] decodes the same way and answers `INVALID_ARGUMENT`,
//! worded like the server's other invalid arguments: `invalid argument:
//! failed to decode Protobuf message: SearchRequest.query: invalid string value:
//! data is not UTF-8 encoded`, cut to [`MAX_DECODE_MESSAGE_BYTES`].
//!
//! `build.rs` wires it in through tonic-prost-build's `codec_path`, for the
//! server only: the generated client keeps tonic-prost's codec, because an answer
//! that does not decode is the server's fault.

use std::marker::PhantomData;

use prost::Message;
use tonic::codec::{BufferSettings, Codec, DecodeBuf, Decoder};
use tonic::Status;

/// Longest status message of an undecodable request, in bytes (prost's reason
/// names the message and field path, which nesting could lengthen).
pub const MAX_DECODE_MESSAGE_BYTES: usize = 512;

/// Prost encoding of `T` (the answers) and decoding of `U` (the requests), an
/// undecodable request being `INVALID_ARGUMENT` (see the [module docs](self)).
#[derive(Debug, Clone)]
pub struct RequestCodec<T, U> {
    _messages: PhantomData<(T, U)>,
}

impl<T, U> Default for RequestCodec<T, U> {
    fn default() -> Self {
        RequestCodec { _messages: PhantomData }
    }
}

impl<T, U> Codec for RequestCodec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = tonic_prost::ProstEncoder<T>;
    type Decoder = RequestDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        tonic_prost::ProstEncoder::default()
    }

    fn decoder(&mut self) -> Self::Decoder {
        RequestDecoder { _message: PhantomData, buffer_settings: BufferSettings::default() }
    }
}

/// The decoder of [`RequestCodec`]: `U::decode`, a failure being
/// [`invalid_request`].
#[derive(Debug, Clone)]
pub struct RequestDecoder<U> {
    _message: PhantomData<U>,
    buffer_settings: BufferSettings,
}

impl<U: Message + Default> Decoder for RequestDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        U::decode(buf).map(Some).map_err(|error| invalid_request(&error))
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.buffer_settings
    }
}

/// The status of a request that does not decode: `INVALID_ARGUMENT`,
/// `invalid argument: <prost's reason>`, at most [`MAX_DECODE_MESSAGE_BYTES`]
/// bytes (cut on a character boundary), on one line.
pub fn invalid_request(error: &prost::DecodeError) -> Status {
    let mut message: String =
        format!("invalid argument: {error}").chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if message.len() > MAX_DECODE_MESSAGE_BYTES {
        message.truncate(message.floor_char_boundary(MAX_DECODE_MESSAGE_BYTES - '…'.len_utf8()));
        message.push('…');
    }
    Status::invalid_argument(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undecodable_requests_are_invalid_arguments_with_short_messages() {
        // A `string` field (tag 2 of GetSymbolsRequest) that is not UTF-8.
        let error = crate::v1::GetSymbolsRequest::decode(&[0x12, 0x02, 0xc0, 0xaf][..]).unwrap_err();
        let status = invalid_request(&error);
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert!(status.message().starts_with("invalid argument: failed to decode Protobuf message"), "{status:?}");
        assert!(status.message().contains("UTF-8"), "{status:?}");
        // A varint of eleven bytes.
        let error = crate::v1::GetSymbolsRequest::decode(
            &[0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01][..],
        )
        .unwrap_err();
        let status = invalid_request(&error);
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert!(status.message().len() <= MAX_DECODE_MESSAGE_BYTES);
    }
}
