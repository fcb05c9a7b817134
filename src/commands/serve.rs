//! `reelframe serve`: builds the extractor and the store from the checked configuration, serves
//! the routes on the I/O runtime, and stops gracefully on SIGTERM/SIGINT.

use crate::config::{ServeConfig, StoreTarget};
use crate::pipeline::demux::init_ffmpeg;
use crate::pipeline::isolate::Isolation;
use crate::pipeline::net::guard::PrivateAddresses;
use crate::pipeline::net::io_runtime;
use crate::pipeline::net::s3::LazyClient;
use crate::pipeline::source::{HttpSource, LocalSource, S3Source, Sources};
use crate::pipeline::store::{DirStore, FrameStore, S3Store};
use crate::pipeline::Extractor;
use crate::serve::{app, ReadyCheck, ServeState};
use anyhow::{Context, Result};
use futures_util::FutureExt;
use std::future::IntoFuture;
use std::io::Write;
use std::sync::Arc;

/// Resolves on the first SIGTERM or SIGINT.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(err) => {
                tracing::warn!("cannot listen for SIGTERM ({err}); only SIGINT stops the server");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Runs the server until a signal stops it; returns exit code 0 after a graceful stop.
pub fn run(config: &ServeConfig) -> Result<i32> {
    init_ffmpeg(false);
    // the journal has one owner, as extract's records do: an extract on this output (or a second
    // server) stops at start instead of compacting what this server appends to, and vice versa
    let journal_lock = config
        .settings
        .journal
        .as_deref()
        .map(|journal| super::outputs::lock_records(journal, &config.store, "serve"))
        .transpose()?;
    let runtime = io_runtime().context("starting the I/O runtime")?;
    let limits = config.network.limits.clone();
    let s3 = Arc::new(LazyClient::new(config.network.s3.clone(), limits.clone()));
    let sources = Sources {
        local: LocalSource {
            max_bytes: config.max_bytes,
        },
        http: Some(HttpSource::new(limits.clone()).context("setting up the HTTP client")?),
        s3: Some(S3Source::new(Arc::clone(&s3), limits.clone())),
    };
    let (store, ready): (Arc<dyn FrameStore>, ReadyCheck) = match &config.store {
        StoreTarget::Dir(dir) => {
            let store = DirStore::new(dir)
                .with_context(|| format!("creating output directory {}", dir.display()))?;
            let root = store.root().to_path_buf();
            let ready: ReadyCheck = Arc::new(move || {
                let root = root.clone();
                async move {
                    match tokio::fs::metadata(&root).await {
                        Ok(meta) if meta.is_dir() => Ok(()),
                        Ok(_) => Err(format!("{} is not a directory", root.display())),
                        Err(err) => Err(format!("{}: {err}", root.display())),
                    }
                }
                .boxed()
            });
            (Arc::new(store), ready)
        }
        StoreTarget::S3(location) => {
            let client = runtime
                .block_on(s3.get())
                .map_err(|err| anyhow::anyhow!("{}", err.message))?
                .clone();
            let store = Arc::new(S3Store::new(
                client,
                location.clone(),
                config.network.public_url_base.clone(),
                limits,
            ));
            runtime
                .block_on(store.check())
                .with_context(|| format!("checking --out {location}"))?;
            let probe = Arc::clone(&store);
            let ready: ReadyCheck = Arc::new(move || {
                let probe = Arc::clone(&probe);
                async move { probe.check().await.map_err(|err| err.to_string()) }.boxed()
            });
            (store, ready)
        }
    };
    let mut extractor = Extractor::new(
        config.options.clone(),
        Arc::new(sources),
        store,
        runtime.handle().clone(),
    );
    if config.isolate {
        let isolation = Isolation::of_this_binary(config.max_bytes)
            .context("finding the reelframe executable")?;
        extractor = extractor.with_isolation(isolation);
    }
    let state = Arc::new(
        ServeState::new(config.settings.clone(), extractor, ready)
            .context("opening the records journal")?,
    );
    let shutdown_timeout = config.shutdown_timeout;
    let result = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("listening on {}", config.listen))?;
        let address = listener.local_addr()?;
        println!("reelframe serve: listening on http://{address}");
        std::io::stdout().flush()?;
        let private_urls = match config.network.limits.private_addresses {
            PrivateAddresses::Allow => "allow",
            PrivateAddresses::Deny => "deny",
        };
        tracing::info!(%address, private_urls, "listening");
        let signalled = Arc::new(tokio::sync::Notify::new());
        let notify = Arc::clone(&signalled);
        let stopping = Arc::clone(&state);
        let mut server = tokio::spawn(
            axum::serve(listener, app(Arc::clone(&state)))
                .with_graceful_shutdown(async move {
                    stop_signal().await;
                    stopping.stop();
                    notify.notify_one();
                })
                .into_future(),
        );
        let mut clean = true;
        tokio::select! {
            ended = &mut server => {
                ended.context("the server task failed")?.context("serving")?;
            }
            _ = signalled.notified() => {
                let inflight = state.metrics.inflight.load(std::sync::atomic::Ordering::Relaxed);
                tracing::info!(inflight, "stopping: no new connections; finishing in-flight requests");
                match tokio::time::timeout(shutdown_timeout, &mut server).await {
                    Ok(ended) => {
                        ended.context("the server task failed")?.context("serving")?;
                    }
                    Err(_) => {
                        tracing::warn!(
                            "in-flight requests still running after --shutdown-timeout {:?}: exiting without them",
                            shutdown_timeout
                        );
                        server.abort();
                        clean = false;
                    }
                }
            }
        }
        anyhow::Ok(clean)
    });
    runtime.shutdown_background();
    let clean = result?;
    // after abandoned requests the lock stays `running`, so the next owner removes their
    // temporary files
    if let Some(lock) = journal_lock.filter(|_| clean) {
        let path = lock.path().display().to_string();
        lock.release()
            .with_context(|| format!("releasing {path}"))?;
    }
    eprintln!("reelframe serve: stopped");
    Ok(0)
}
