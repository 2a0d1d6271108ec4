//! Check requests as bytes on the wire: a `body` string that is not UTF-8
//! cannot even be decoded, and the answer is a gRPC error, which Envoy with
//! `failure_mode_allow: false` turns into a refusal; never an OK.

use bytes::{Buf, BufMut};
use prost::Message;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

use super::*;

/// Sends and receives messages as the bytes given.
#[derive(Debug, Clone, Copy, Default)]
struct Raw;

impl Codec for Raw {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = Raw;
    type Decoder = Raw;

    fn encoder(&mut self) -> Raw {
        Raw
    }

    fn decoder(&mut self) -> Raw {
        Raw
    }
}

impl Encoder for Raw {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for Raw {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, tonic::Status> {
        let mut out = vec![0; src.remaining()];
        src.copy_to_slice(&mut out);
        Ok(Some(out))
    }
}

async fn send(h: &Harness, bytes: Vec<u8>) -> Result<CheckResponse, tonic::Status> {
    let channel = Channel::from_shared(format!("http://{}", h.grpc_addr()))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let path = tonic::codegen::http::uri::PathAndQuery::from_static(
        "/envoy.service.auth.v3.Authorization/Check",
    );
    let r = grpc.unary(tonic::Request::new(bytes), path, Raw).await?;
    Ok(CheckResponse::decode(r.into_inner().as_slice()).unwrap())
}

#[tokio::test]
async fn a_body_string_that_is_not_utf8_is_a_grpc_error_never_ok() {
    let h = start(Setup::default()).await;
    let auth = format!("Bearer {}", h.key("us-citizen"));
    let check = envoy_check(
        "POST",
        "/v1/chat/completions",
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        r#"{"model": "fable-5", "messages": [{"role": "user", "content": "§"}]}"#,
    );
    let bytes = check.encode_to_vec();
    // Well-formed, the same bytes are allowed: the codec is not the refusal.
    let ok = send(&h, bytes.clone()).await.unwrap();
    assert_eq!(ok.status.unwrap().code, 0);

    // `§` is C2 A7 in UTF-8; a lone A7 is not UTF-8.
    let at = bytes
        .windows(2)
        .position(|w| w == [0xc2, 0xa7])
        .expect("the body is in the message");
    let mut broken = bytes;
    broken[at] = b'x';
    broken[at + 1] = 0xa7;
    let e = send(&h, broken).await.unwrap_err();
    assert_ne!(e.code(), tonic::Code::Ok);
}
