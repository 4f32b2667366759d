//! `cairn-server`: the sync relay, on embedded SQLite and a blob directory.

use std::path::PathBuf;
use std::process::ExitCode;

use cairn_server::{Config, run};
use clap::{Parser, ValueEnum};
use tracing_subscriber::EnvFilter;

/// Cairn's sync relay: stores what devices seal and sign, and reads none of it.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "CAIRN_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,
    /// Directory for relay.db and blobs/ (created if missing).
    #[arg(long, env = "CAIRN_DATA_DIR")]
    data_dir: PathBuf,
    /// Log lines as text or as JSON objects (the filter is RUST_LOG, `info` by default).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Blob bytes each space may hold.
    #[arg(long, default_value_t = 1 << 30)]
    blob_quota: u64,
    /// Once listening, write the relay's address (`http://IP:PORT`) to this file: with
    /// `--listen 127.0.0.1:0`, how a test script learns the port the system chose.
    #[arg(long)]
    address_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter);
    match args.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().flatten_event(true).init(),
    }

    let listener = match tokio::net::TcpListener::bind(&args.listen).await {
        Ok(listener) => listener,
        Err(e) => {
            tracing::error!(addr = %args.listen, error = %e, "cannot listen");
            return ExitCode::FAILURE;
        }
    };
    if let Some(path) = &args.address_file {
        let written = listener
            .local_addr()
            .and_then(|addr| std::fs::write(path, format!("http://{addr}\n")));
        if let Err(e) = written {
            tracing::error!(error = %e, "cannot write the address file");
            return ExitCode::FAILURE;
        }
    }
    let mut config = Config::new(args.data_dir);
    config.limits.blob_quota_per_space = args.blob_quota;
    match run(listener, config, stop_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "relay failed");
            ExitCode::FAILURE
        }
    }
}

/// Ctrl-C, or SIGTERM where there is one (what a service manager sends).
async fn stop_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
