//! The `mockidp` command: run the provider.

use std::{
    net::{IpAddr, SocketAddr, TcpListener},
    path::PathBuf,
    process::ExitCode,
    sync::Arc,
};

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use mockidp_server::{Config, Overrides, Provider, ServerOptions, serve};

/// A mock OpenID Connect provider for tests and dev environments.
///
/// It hands out tokens to anyone who asks: never run it in production.
#[derive(Debug, Parser)]
#[command(name = "mockidp", version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the provider (the default when no command is given).
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Port to listen on (0 picks a free one) [default: 8080]
    #[arg(long, short)]
    port: Option<u16>,
    /// Address to listen on; 0.0.0.0 exposes the provider to the network [default: 127.0.0.1]
    #[arg(long)]
    bind: Option<IpAddr>,
    /// A TOML, YAML or JSON config file layered over the embedded default.
    #[arg(long, short, env = "MOCKIDP_CONFIG")]
    config: Option<PathBuf>,
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::new().filter_or("MOCKIDP_LOG", "info")).init();
    let cli = Cli::parse();
    let args = match cli.command {
        Some(Command::Serve(args)) => args,
        None => cli.serve,
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("mockidp: error: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn run(args: ServeArgs) -> anyhow::Result<()> {
    let overrides = Overrides { bind: args.bind, port: args.port };
    let config = Config::load(args.config.as_deref(), &overrides)?;
    let address = SocketAddr::new(config.bind, config.port);
    let listener = TcpListener::bind(address)
        .with_context(|| format!("cannot listen on {address} (is another server using the port? try --port)"))?;
    let address = listener.local_addr().context("the listener has no local address")?;
    let provider = Arc::new(Provider::from_config(&config)?);
    actix_web::rt::System::new().block_on(async move {
        // actix stops at once on SIGINT; handling the signals here makes
        // Ctrl-C as graceful as SIGTERM: requests in flight finish. The
        // handlers are installed before the banner, so whoever waits for the
        // banner can signal right away.
        let shutdown = ShutdownSignals::install()?;
        let options = ServerOptions { handle_signals: false, ..ServerOptions::default() };
        let server = serve(listener, provider.clone(), &options)?;
        let handle = server.handle();
        actix_web::rt::spawn(async move {
            let signal = shutdown.recv().await;
            log::info!("{signal} received, stopping gracefully");
            handle.stop(true).await;
        });
        print_banner(&config, &provider, address);
        server.await
    })?;
    log::info!("mockidp stopped");
    Ok(())
}

/// SIGINT and SIGTERM, listened for from the moment of `install`.
struct ShutdownSignals {
    #[cfg(unix)]
    interrupt: actix_web::rt::signal::unix::Signal,
    #[cfg(unix)]
    terminate: actix_web::rt::signal::unix::Signal,
}

impl ShutdownSignals {
    fn install() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use actix_web::rt::signal::unix::{SignalKind, signal};
            Ok(Self { interrupt: signal(SignalKind::interrupt())?, terminate: signal(SignalKind::terminate())? })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    /// Waits for the first signal and names it.
    async fn recv(self) -> &'static str {
        #[cfg(unix)]
        {
            use futures_util::future::{Either, select};
            let Self { mut interrupt, mut terminate } = self;
            match select(std::pin::pin!(interrupt.recv()), std::pin::pin!(terminate.recv())).await {
                Either::Left(_) => "SIGINT",
                Either::Right(_) => "SIGTERM",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = actix_web::rt::signal::ctrl_c().await;
            "Ctrl-C"
        }
    }
}

/// Prints who we are, where, and how to get a token. A closed or broken
/// stdout (a supervisor that stopped reading) must not stop the server, so
/// the banner is written once and a failure ignored.
fn print_banner(config: &Config, provider: &Provider, address: SocketAddr) {
    use std::fmt::Write as _;
    let mut out = String::new();
    let base = match provider.public_url() {
        Some(url) => url.to_owned(),
        None => {
            let host = match address.ip() {
                ip if ip.is_unspecified() => "localhost".to_owned(),
                IpAddr::V6(ip) => format!("[{ip}]"),
                IpAddr::V4(ip) => ip.to_string(),
            };
            format!("http://{host}:{}", address.port())
        }
    };
    let _ = writeln!(out, "mockidp {}: a mock OpenID Connect provider for tests", env!("CARGO_PKG_VERSION"));
    let _ = writeln!(out, "NOT FOR PRODUCTION: it issues tokens to anyone who asks.");
    if !address.ip().is_loopback() {
        let _ = writeln!(out, "WARNING: listening on {address}, reachable from other machines.");
    }
    let _ = writeln!(out, "listening on http://{address}");
    let mut example = None;
    for (name, issuer) in &config.issuers {
        let issuer_url = issuer.issuer_url.clone().unwrap_or_else(|| format!("{base}/{name}"));
        let _ = writeln!(out);
        let _ = writeln!(out, "issuer `{name}`: {issuer_url}");
        let _ = writeln!(out, "  discovery: {base}/{name}/.well-known/openid-configuration");
        let login = match issuer.login {
            mockidp_server::config::LoginMode::Form => "login page",
            mockidp_server::config::LoginMode::Auto => "headless (login_hint or default user)",
        };
        let users: Vec<&str> = issuer.users.keys().map(String::as_str).collect();
        if users.is_empty() {
            let _ = writeln!(out, "  login: {login}; no users (type any subject on the login page)");
        } else {
            let _ = writeln!(out, "  login: {login}; users: {}", users.join(", "));
        }
        for (client_id, client) in &issuer.clients {
            let grants: Vec<&str> = client.grant_types.iter().map(|grant| grant.as_str()).collect();
            match &client.secret {
                Some(secret) => {
                    let _ = writeln!(out, "  client: {client_id} / {secret} ({})", grants.join(", "));
                    if client.grant_types.contains(&mockidp_server::config::GrantType::ClientCredentials) {
                        example.get_or_insert_with(|| (name.clone(), client_id.clone(), secret.clone()));
                    }
                }
                None => {
                    let _ = writeln!(out, "  client: {client_id}, public ({})", grants.join(", "));
                }
            }
        }
    }
    let _ = writeln!(out);
    let protection =
        if config.admin_token.is_some() { "bearer token required" } else { "open: set admin_token to protect it" };
    let _ = writeln!(out, "admin API: {base}/_mockidp/admin ({protection})");
    if let Some((issuer, client_id, secret)) = example {
        let _ = writeln!(out);
        let _ = writeln!(out, "get a token:");
        let _ =
            writeln!(out, "  curl -s -u {client_id}:{secret} -d grant_type=client_credentials {base}/{issuer}/token");
    }
    let _ = writeln!(out);
    let mut stdout = std::io::stdout().lock();
    let _ = std::io::Write::write_all(&mut stdout, out.as_bytes());
    // Piped stdout is block-buffered; whoever waits for the banner must see it now.
    let _ = std::io::Write::flush(&mut stdout);
}
