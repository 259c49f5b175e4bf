//! The Discord gateway's TLS stack after the vendored tungstenite / tokio-tungstenite 0.21
//! moved to rustls 0.23 (vendor/README.md): serenity's own connect path runs a real handshake
//! against the bundled webpki roots, and a WebSocket over rustls 0.23 carries messages. On
//! loopback, against a server with a throwaway CA's certificate for 127.0.0.1 and localhost.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use serenity::gateway::Shard;
use serenity::model::gateway::{GatewayIntents, ShardInfo};
use serenity::model::id::ShardId;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Mutex};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{
    self, AlertDescription, CertificateError, ClientConfig, RootCertStore, ServerConfig,
};
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::Connector;

const WAIT: Duration = Duration::from_secs(10);

/// A throwaway CA and a server certificate it signed, for 127.0.0.1 and localhost.
struct Pki {
    ca: CertificateDer<'static>,
    server: ServerConfig,
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn pki() -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "budget-bot gateway_tls test CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = ca_params.self_signed(&ca_key).unwrap().der().clone();
    let issuer = Issuer::new(ca_params, ca_key);

    let server_key = KeyPair::generate().unwrap();
    let server_cert =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .unwrap()
            .signed_by(&server_key, &issuer)
            .unwrap()
            .der()
            .clone();
    let server = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![server_cert, ca.clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
        )
        .unwrap();
    Pki { ca, server }
}

/// A TLS WebSocket server on 127.0.0.1 that answers each text message with "pong: " and the
/// text. Every connection's outcome (`Ok` once the WebSocket closes, or the TLS or WebSocket
/// error) is sent on the returned channel.
async fn serve(server: ServerConfig) -> (u16, mpsc::UnboundedReceiver<Result<(), String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let acceptor = TlsAcceptor::from(Arc::new(server));
    let (outcomes, received) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let (acceptor, outcomes) = (acceptor.clone(), outcomes.clone());
            tokio::spawn(async move {
                let outcome = async {
                    let tls = acceptor.accept(tcp).await.map_err(tls_failure)?;
                    let mut ws = tokio_tungstenite::accept_async(tls)
                        .await
                        .map_err(|e| format!("websocket: {e}"))?;
                    while let Some(message) = ws.next().await {
                        match message.map_err(|e| format!("websocket: {e}"))? {
                            Message::Text(text) => ws
                                .send(Message::Text(format!("pong: {text}")))
                                .await
                                .map_err(|e| format!("websocket: {e}"))?,
                            Message::Close(_) => break,
                            _ => {}
                        }
                    }
                    Ok(())
                }
                .await;
                let _ = outcomes.send(outcome);
            });
        }
    });
    (port, received)
}

/// The server side of a refused handshake, with the alert the client sent when there is one.
fn tls_failure(error: io::Error) -> String {
    match rustls_error(&error) {
        Some(rustls::Error::AlertReceived(alert)) => format!("alert received: {alert:?}"),
        _ => format!("tls: {error}"),
    }
}

/// The rustls error inside an I/O error, which is how tokio-rustls (and so tokio-tungstenite)
/// reports a refused handshake.
fn rustls_error(error: &io::Error) -> Option<&rustls::Error> {
    error.get_ref()?.downcast_ref::<rustls::Error>()
}

async fn next_outcome(
    outcomes: &mut mpsc::UnboundedReceiver<Result<(), String>>,
) -> Result<(), String> {
    tokio::time::timeout(WAIT, outcomes.recv())
        .await
        .expect("the server reports each connection")
        .expect("the server runs")
}

fn assert_unknown_issuer(error: &WsError, via: &str) {
    let WsError::Io(io) = error else {
        panic!(
            "{via}: expected the TLS refusal (an I/O error around a rustls error), got {error:?}"
        );
    };
    assert!(
        matches!(
            rustls_error(io),
            Some(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer
            ))
        ),
        "{via}: expected rustls 0.23's InvalidCertificate(UnknownIssuer) (the rustls this crate \
         and the patched tokio-tungstenite share), got {io:?}"
    );
}

/// serenity's gateway connects with the default connector: webpki roots, rustls 0.23 and the
/// ring provider named in the vendored tls.rs. A certificate from an unknown CA must be refused
/// by certificate verification, which runs only inside a handshake, so reaching it proves the
/// patched stack handshakes; a panic (rustls 0.23 with no provider) fails the test, and so
/// does any other error (the patched config refused, connection trouble) or a rustls error of
/// another version (the crates.io tokio-tungstenite 0.21 on rustls 0.22, without the patch).
#[tokio::test]
async fn the_gateway_default_connector_handshakes_and_refuses_an_unknown_issuer() {
    let (port, mut outcomes) = serve(pki().server).await;
    let url = format!("wss://127.0.0.1:{port}/?v=10&encoding=json");

    // serenity 0.12.5's own path (Shard::new -> WsClient::connect -> connect_async_with_config).
    let refused = tokio::time::timeout(
        WAIT,
        Shard::new(
            Arc::new(Mutex::new(url.clone())),
            "not-a-token",
            ShardInfo {
                id: ShardId(0),
                total: 1,
            },
            GatewayIntents::GUILD_MESSAGES,
            None,
        ),
    )
    .await
    .expect("the handshake ends");
    let Err(serenity::Error::Tungstenite(error)) = refused else {
        panic!("expected serenity's gateway error, got {:?}", refused.err());
    };
    assert_unknown_issuer(&error, "Shard::new");
    assert_eq!(
        next_outcome(&mut outcomes).await,
        Err(format!("alert received: {:?}", AlertDescription::UnknownCA)),
        "the client sends the unknown-CA alert inside the handshake"
    );

    // The same call with the configuration serenity passes, made directly.
    let config = WebSocketConfig {
        max_message_size: None,
        max_frame_size: None,
        ..Default::default()
    };
    let error = tokio_tungstenite::connect_async_with_config(url.as_str(), Some(config), false)
        .await
        .expect_err("the unknown CA is refused");
    assert_unknown_issuer(&error, "connect_async_with_config");
    assert_eq!(
        next_outcome(&mut outcomes).await,
        Err(format!("alert received: {:?}", AlertDescription::UnknownCA))
    );
}

/// With the throwaway CA trusted, the handshake and the WebSocket upgrade complete over
/// rustls 0.23 and text goes both ways.
#[tokio::test]
async fn a_trusted_certificate_completes_the_upgrade_and_text_goes_both_ways() {
    let pki = pki();
    let (port, mut outcomes) = serve(pki.server).await;
    let mut roots = RootCertStore::empty();
    roots.add(pki.ca).unwrap();
    let client = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();

    let (mut ws, response) = tokio::time::timeout(
        WAIT,
        tokio_tungstenite::connect_async_tls_with_config(
            format!("wss://127.0.0.1:{port}/?v=10&encoding=json"),
            None,
            false,
            Some(Connector::Rustls(Arc::new(client))),
        ),
    )
    .await
    .expect("the handshake ends")
    .expect("the trusted certificate is accepted and the upgrade completes");
    assert_eq!(response.status(), 101);
    assert!(
        matches!(ws.get_ref(), tokio_tungstenite::MaybeTlsStream::Rustls(_)),
        "the stream is TLS"
    );

    ws.send(Message::Text("ping".to_string())).await.unwrap();
    let answer = tokio::time::timeout(WAIT, ws.next())
        .await
        .expect("the server answers")
        .expect("the stream stays open")
        .unwrap();
    assert_eq!(answer, Message::Text("pong: ping".to_string()));

    ws.close(None).await.unwrap();
    assert_eq!(next_outcome(&mut outcomes).await, Ok(()));
}
