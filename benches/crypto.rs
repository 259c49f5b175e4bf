//! Throughput of the per-call crypto and decoding work (request signing, response verification,
//! StockEntity decoding), to know how much of the 20 calls/s budget they could ever eat.
//! Run with `cargo bench --bench crypto`; set `BENCH_ITERS` to change the iteration count.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use budget_bot::sim::test_keys;
use budget_bot::wechatpay::keys::{parse_private_key, parse_public_key};
use budget_bot::wechatpay::model::StockEntity;
use budget_bot::wechatpay::sign::{request_message, RsaSigner, RsaVerifier};

/// A StockEntity as the API sends it, with fields the bot ignores, so decoding pays for them.
const STOCK_JSON: &str = r#"{"product_coupon_id":"200000001","stock_id":"123","remark":"demo","coupon_code_mode":"WECHATPAY","stock_send_rule":{"max_count":100000,"max_count_per_day":10000,"max_count_per_user":1},"sent_count_info":{"total_count":4200,"today_count":310},"state":"SENDING","store_scope":"ALL","progressive_bundle_usage_rule":{"coupon_available_period":{"available_begin_time":"2025-01-01T00:00:00+08:00","available_end_time":"2025-12-31T23:59:59+08:00"}},"stock_bundle_info":{"stock_bundle_id":"b1","stock_bundle_index":0}}"#;

fn report(what: &str, iterations: u32, elapsed: Duration) {
    let per_second = f64::from(iterations) / elapsed.as_secs_f64();
    let micros = elapsed.as_secs_f64() * 1e6 / f64::from(iterations);
    println!("{what:<22} {per_second:>12.0} /s   ({micros:>9.2} µs each, {iterations} iterations)");
}

fn main() {
    let iterations: u32 = std::env::var("BENCH_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let private = parse_private_key(test_keys::BRAND_PRIVATE_KEY_PEM, Path::new("test_keys"))
        .expect("test private key parses");
    let public = parse_public_key(test_keys::BRAND_PUBLIC_KEY_PEM, Path::new("test_keys"))
        .expect("test public key parses");
    let signer = RsaSigner::new(private);
    let verifier = RsaVerifier::new(public);
    let message = request_message(
        "POST",
        "/brand/marketing/product-coupon/product-coupons/200000001/stocks/123/update-budget",
        1_700_000_000,
        "593BEC0C930BF1AFEB40B4A08C8FB242",
        br#"{"out_request_no":"bb-123-abc","update_mode":"MAX_COUNT","current_max_count":100000,"target_max_count":120000}"#,
    );

    // Warm up caches (and the key's precomputed values) outside the timed loops.
    let signature = signer.sign_base64(&message);
    assert!(verifier.verify_base64(&message, &signature));

    let start = Instant::now();
    for _ in 0..iterations {
        black_box(signer.sign_base64(black_box(&message)));
    }
    report("RSA-2048 sign", iterations, start.elapsed());

    let start = Instant::now();
    for _ in 0..iterations {
        assert!(verifier.verify_base64(black_box(&message), black_box(&signature)));
    }
    report("RSA-2048 verify", iterations, start.elapsed());

    let decodes = iterations.saturating_mul(100);
    let start = Instant::now();
    for _ in 0..decodes {
        let stock: StockEntity = serde_json::from_str(black_box(STOCK_JSON)).expect("decodes");
        black_box(stock);
    }
    report("StockEntity decode", decodes, start.elapsed());
}
