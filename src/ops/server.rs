//! The HTTP endpoints `run` serves on `[ops] listen`: `/healthz` (the process is up and
//! running its loops), `/readyz` (it can do its job now) and `/metrics` (Prometheus text).

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tokio_util::sync::CancellationToken;

use crate::app::{Clock, SystemClock};
use crate::config::StockConfig;
use crate::domain::request::RequestState;
use crate::wechatpay::CouponApi;

use super::health::{probe_wechatpay, Readiness};
use super::metrics;

/// The running endpoints. Dropping it stops them (and the probe reads).
pub struct OpsServer {
    local_addr: SocketAddr,
    readiness: Arc<Readiness>,
    stop: CancellationToken,
}

impl OpsServer {
    /// Installs the metrics recorder, binds `listen` and serves until dropped.
    pub async fn start(listen: SocketAddr, readiness: Arc<Readiness>) -> anyhow::Result<Self> {
        metrics::install();
        let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| {
            format!("cannot listen on [ops] listen = \"{listen}\": choose a free port, or remove [ops] to run without health and metrics endpoints")
        })?;
        let local_addr = listener
            .local_addr()
            .context("the ops listener has no address")?;
        let stop = CancellationToken::new();
        let router = Router::new()
            .route("/healthz", get(healthz))
            .route("/readyz", get(readyz))
            .route("/metrics", get(metrics_text))
            .with_state(readiness.clone());
        let stopped = stop.clone();
        tokio::spawn(async move {
            let served = axum::serve(listener, router)
                .with_graceful_shutdown(stopped.cancelled_owned())
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "the ops endpoints stopped");
            }
        });
        tracing::info!(url = %format!("http://{local_addr}"), "ops endpoints listening: /healthz /readyz /metrics");
        Ok(Self {
            local_addr,
            readiness,
            stop,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn readiness(&self) -> &Readiness {
        &self.readiness
    }

    /// Probes WeChat Pay with a read of `stock` now, and again while calls fail (see
    /// [`probe_wechatpay`]), until the server is dropped.
    pub fn probe(&self, api: Arc<dyn CouponApi>, stock: StockConfig) {
        tokio::spawn(probe_wechatpay(api, stock, self.stop.clone()));
    }
}

impl Drop for OpsServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(readiness): State<Arc<Readiness>>) -> Response {
    let report = readiness.report();
    let status = if report.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(report)).into_response()
}

async fn metrics_text(State(readiness): State<Arc<Readiness>>) -> Response {
    // The pending gauges are computed at scrape time from the store's index of open requests:
    // a scrape costs what is pending, not the whole history.
    match readiness.store().open_requests(&[RequestState::Pending]) {
        Ok(pending) => {
            metrics::set_pending(pending.iter().map(|r| r.created_at), SystemClock.now())
        }
        Err(e) => tracing::warn!(error = %e, "cannot count pending requests for /metrics"),
    }
    match metrics::render() {
        Some(text) => ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], text).into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics recorder not installed\n",
        )
            .into_response(),
    }
}
