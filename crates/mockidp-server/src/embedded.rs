//! A provider on its own thread and actix runtime, on `127.0.0.1`: what
//! the test helper and the scanner start.

use std::{
    net::{SocketAddr, TcpListener},
    sync::Arc,
    thread::JoinHandle,
};

use actix_web::dev::ServerHandle;
use mockidp_core::Clock;

use crate::{Config, ConfigError, Provider, ServerOptions};

/// Why an embedded provider could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The configuration is invalid.
    #[error("invalid mockidp configuration: {0}")]
    Config(#[from] ConfigError),
    /// The socket or the server thread could not be set up.
    #[error("mockidp could not start its server: {0}")]
    Io(#[from] std::io::Error),
}

/// A running provider; stops when dropped, and the port is closed when
/// `drop` returns.
#[derive(Debug)]
pub struct Embedded {
    address: SocketAddr,
    uri: String,
    provider: Arc<Provider>,
    handle: ServerHandle,
    thread: Option<JoinHandle<()>>,
}

impl Embedded {
    /// Binds `127.0.0.1:{port}` (0: any free port) first, so every URL
    /// carries the real port, then serves `config` on a thread of its own.
    /// `bind`, `port` and `public_url` of `config` are ignored.
    pub fn start(config: Config, port: u16, clock: Option<Arc<dyn Clock>>) -> Result<Embedded, StartError> {
        Self::start_behind(config, port, clock, None)
    }

    /// Like [`Embedded::start`], for a provider reached through another
    /// server at `public_url` (a wiremock `MockServer` that forwards to it):
    /// every URL it hands out names that server.
    pub fn start_behind(
        mut config: Config,
        port: u16,
        clock: Option<Arc<dyn Clock>>,
        public_url: Option<String>,
    ) -> Result<Embedded, StartError> {
        let listener = TcpListener::bind(("127.0.0.1", port))?;
        let address = listener.local_addr()?;
        let uri = format!("http://{address}");
        config.public_url = Some(public_url.unwrap_or_else(|| uri.clone()));
        config.validate()?;
        let mut provider = Provider::from_config(&config)?;
        if let Some(clock) = clock {
            provider = provider.with_clock(clock);
        }
        let provider = Arc::new(provider);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let server_provider = provider.clone();
        let thread = std::thread::Builder::new().name(format!("mockidp-{}", address.port())).spawn(move || {
            let options = ServerOptions { workers: 1, handle_signals: false, shutdown_timeout_secs: 1 };
            actix_web::rt::System::new().block_on(async move {
                match crate::serve(listener, server_provider, &options) {
                    Ok(server) => {
                        let _ = ready_tx.send(Ok(server.handle()));
                        let _ = server.await;
                    }
                    Err(err) => {
                        let _ = ready_tx.send(Err(err));
                    }
                }
            });
        })?;
        // The server is set up within milliseconds; waiting here keeps
        // `start` free of any particular async runtime.
        let handle = ready_rx
            .recv()
            .map_err(|_| std::io::Error::other("the mockidp server thread ended before it started"))??;
        Ok(Embedded { address, uri, provider, handle, thread: Some(thread) })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The socket address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The provider's state.
    pub fn provider(&self) -> &Arc<Provider> {
        &self.provider
    }
}

impl Drop for Embedded {
    fn drop(&mut self) {
        // `stop` sends the command at once; the returned future only waits
        // for completion, which joining the thread does too.
        drop(self.handle.stop(false));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
