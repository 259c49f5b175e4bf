//! The database URL's `sslmode`, against the test cluster (`.ci/postgres.sh`), which serves
//! TLS with a certificate for localhost and 127.0.0.1 signed by a throwaway CA: each mode
//! connects or refuses as libpq's does, and no refusal quotes the password.
#![cfg(feature = "postgres")]

use std::io::{Read, Write};
use std::net::TcpListener;

use budget_bot::store::postgres::testing::{test_cas, test_database, TestDatabase};
use budget_bot::store::{CardKey, PostgresStore, RequestStore};

const PASSWORD: &str = "s3cret-Pa55";

/// The test schema's URL with a password (the cluster trusts local connections, so any
/// password is accepted) and `extra` query parameters.
fn url(db: &TestDatabase, extra: &str) -> String {
    db.url
        .replacen("budgetbot@", &format!("budgetbot:{PASSWORD}@"), 1)
        + "&"
        + extra
}

fn setup(test: &str) -> Option<(TestDatabase, String, String)> {
    let (ca, other) = test_cas(test)?;
    Some((test_database(test)?, ca, other))
}

/// The store's refusal, checked for the password.
fn refusal(url: &str) -> String {
    let error = PostgresStore::connect(url)
        .err()
        .expect("the connection is refused");
    let text = format!("{error} {error:?}");
    assert!(!text.contains(PASSWORD), "{text}");
    error.to_string()
}

#[test]
fn verify_full_with_the_right_ca_connects_encrypted_and_the_store_works() {
    let Some((db, ca, _)) = setup("verify_full_with_the_right_ca") else {
        return;
    };
    let store = PostgresStore::connect(&url(&db, &format!("sslmode=verify-full&sslrootcert={ca}")))
        .unwrap();
    let tls = store.tls_in_use().unwrap();
    assert!(
        tls.as_deref().is_some_and(|v| v.starts_with("TLS")),
        "{tls:?}"
    );
    assert!(store.swap_mark("tls", None, Some("on")).unwrap());
    assert_eq!(store.mark("tls").unwrap().as_deref(), Some("on"));
    let card = CardKey::new("discord", "1", "2");
    store.link_card(&card, "req-1").unwrap();
    assert_eq!(store.card_request(&card).unwrap().as_deref(), Some("req-1"));
}

#[test]
fn verify_full_with_a_wrong_ca_is_refused_naming_the_certificate_problem() {
    let Some((db, _, other)) = setup("verify_full_with_a_wrong_ca") else {
        return;
    };
    let text = refusal(&url(
        &db,
        &format!("sslmode=verify-full&sslrootcert={other}"),
    ));
    assert!(
        text.contains("invalid peer certificate")
            && text.contains("UnknownIssuer")
            && text.contains(&format!("not signed by a CA in sslrootcert={other}")),
        "{text}"
    );
    assert!(text.contains("on 127.0.0.1:"), "{text}");
}

#[test]
fn verify_full_to_a_name_the_certificate_does_not_carry_is_refused_and_verify_ca_accepts_it() {
    let Some((db, ca, _)) = setup("verify_full_to_another_name") else {
        return;
    };
    // The connection still goes to 127.0.0.1 (hostaddr); the name checked is the host's.
    let elsewhere = |mode: &str| {
        url(
            &db,
            &format!("sslmode={mode}&sslrootcert={ca}&hostaddr=127.0.0.1"),
        )
        .replacen("@127.0.0.1:", "@db.budget-bot.invalid:", 1)
    };
    let text = refusal(&elsewhere("verify-full"));
    assert!(
        text.contains("invalid peer certificate")
            && text.contains("not valid for name \"db.budget-bot.invalid\"")
            && text.contains("sslmode=verify-full checks the host name"),
        "{text}"
    );
    let store = PostgresStore::connect(&elsewhere("verify-ca")).unwrap();
    assert!(store.tls_in_use().unwrap().is_some());
}

#[test]
fn require_encrypts_without_a_ca_and_checks_the_chain_with_one() {
    let Some((db, ca, other)) = setup("require") else {
        return;
    };
    let store = PostgresStore::connect(&url(&db, "sslmode=require")).unwrap();
    assert!(store.tls_in_use().unwrap().is_some());
    let store =
        PostgresStore::connect(&url(&db, &format!("sslmode=require&sslrootcert={ca}"))).unwrap();
    assert!(store.tls_in_use().unwrap().is_some());
    let text = refusal(&url(&db, &format!("sslmode=require&sslrootcert={other}")));
    assert!(text.contains("UnknownIssuer"), "{text}");
}

#[test]
fn disable_connects_plain_and_prefer_encrypts_when_offered() {
    let Some((db, _, _)) = setup("disable_and_prefer") else {
        return;
    };
    let plain = PostgresStore::connect(&url(&db, "sslmode=disable")).unwrap();
    assert_eq!(plain.tls_in_use().unwrap(), None);
    let default = PostgresStore::connect(&db.url).unwrap();
    assert!(default.tls_in_use().unwrap().is_some());
}

/// A server on 127.0.0.1 that, like PostgreSQL with ssl = off, answers the client's TLS
/// request with `N` (no TLS), then closes.
fn server_without_tls() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut request = [0u8; 8];
            if stream.read_exact(&mut request).is_ok() {
                let _ = stream.write_all(b"N");
            }
        }
    });
    port
}

#[test]
fn require_against_a_server_without_tls_is_refused_clearly() {
    let port = server_without_tls();
    for mode in ["require", "verify-ca", "verify-full"] {
        let text = refusal(&format!(
            "postgres://budgetbot:{PASSWORD}@127.0.0.1:{port}/ledger?sslmode={mode}&connect_timeout=5"
        ));
        assert!(
            text.contains("server does not support TLS")
                && text.contains(&format!("sslmode={mode} needs a server with ssl = on"))
                && text.contains(&format!("PostgreSQL database ledger on 127.0.0.1:{port}")),
            "{text}"
        );
    }
}
