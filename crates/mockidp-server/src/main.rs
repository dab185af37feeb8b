//! The `mockidp` command: run the provider.

use std::{
    net::{IpAddr, SocketAddr, TcpListener},
    path::PathBuf,
    process::ExitCode,
    sync::Arc,
};

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use mockidp_server::{Config, LoadConfig as _, Overrides, Provider, ServerOptions, serve};

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
    /// The pitfall catalogue: tokens broken in exactly one way.
    #[command(subcommand)]
    Pitfalls(PitfallsCommand),
    /// Run a scenario's cases against a live API. Exit code: 0 all as
    /// expected, 1 findings, 2 the scan could not run.
    Scan(ScanArgs),
    /// Check that a provider answers (for container health checks): exit 0
    /// when `/_mockidp/health` says ok, 1 otherwise.
    Health {
        /// The provider's base URL.
        #[arg(long, default_value = "http://127.0.0.1:8080", env = "MOCKIDP_HEALTH_URL")]
        url: String,
    },
}

#[derive(Debug, Args)]
struct ScanArgs {
    /// The scenario file (YAML).
    file: PathBuf,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Also write the report as JUnit XML to this file.
    #[arg(long)]
    junit: Option<PathBuf>,
    /// No progress lines on stderr.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Debug, Subcommand)]
enum PitfallsCommand {
    /// List every case: id, verdict, title.
    List {
        /// Print the catalogue as JSON, with rules, references and fix hints.
        #[arg(long)]
        json: bool,
    },
    /// Mint one case from a running provider (its admin API), so the token
    /// is signed by the keys that provider publishes.
    Mint(MintArgs),
}

#[derive(Debug, Args)]
struct MintArgs {
    /// The case id, such as `alg-none` (`mockidp pitfalls list` shows them all).
    id: String,
    /// The running provider's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// The issuer to mint for.
    #[arg(long, default_value = "default")]
    issuer: String,
    /// The audience your API expects.
    #[arg(long)]
    aud: Option<String>,
    /// The subject.
    #[arg(long)]
    sub: Option<String>,
    /// Scopes, space-separated.
    #[arg(long)]
    scope: Option<String>,
    /// The scope `scope-insufficient` leaves out.
    #[arg(long)]
    required_scope: Option<String>,
    /// The admin token, when the provider requires one.
    #[arg(long, env = "MOCKIDP_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// Print the case with its metadata as JSON instead of the bare token.
    #[arg(long)]
    json: bool,
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
    /// Serve the provider setup of a scenario file (its `provider` section).
    #[arg(long, conflicts_with = "config")]
    scenario: Option<PathBuf>,
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::new().filter_or("MOCKIDP_LOG", "info")).init();
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Serve(args)) => run(args),
        Some(Command::Pitfalls(command)) => pitfalls(command),
        Some(Command::Scan(args)) => return scan(args),
        Some(Command::Health { url }) => return health(&url),
        None => run(cli.serve),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("mockidp: error: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn run(args: ServeArgs) -> anyhow::Result<()> {
    let overrides = Overrides { bind: args.bind, port: args.port };
    let mut config = Config::load(args.config.as_deref(), &overrides)?;
    if let Some(path) = &args.scenario {
        let scenario = mockidp_scenario::Scenario::load(path)?;
        if !scenario.provider.issuers.is_empty() {
            config.issuers = scenario.provider.issuers;
        }
        if args.port.is_none() && scenario.provider.port != 0 {
            config.port = scenario.provider.port;
        }
        config.validate()?;
    }
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

fn pitfalls(command: PitfallsCommand) -> anyhow::Result<()> {
    use mockidp_core::pitfall;
    match command {
        PitfallsCommand::List { json: true } => {
            print_out(&format!("{}\n", serde_json::to_string_pretty(pitfall::catalogue())?))?;
        }
        PitfallsCommand::List { json: false } => {
            let mut out = String::new();
            for case in pitfall::catalogue() {
                out.push_str(&format!("{:<34} {:<7} {}\n", case.id, case.verdict.to_string(), case.title));
            }
            print_out(&out)?;
        }
        PitfallsCommand::Mint(args) => {
            // Unknown ids are caught here, with a suggestion, before any request.
            pitfall::find(&args.id)?;
            let url = format!(
                "{}/_mockidp/admin/issuers/{}/pitfalls/{}",
                args.url.trim_end_matches('/'),
                args.issuer,
                args.id
            );
            let options = mockidp_server::pitfalls::PitfallOptions {
                aud: args.aud,
                sub: args.sub,
                scope: args.scope,
                required_scope: args.required_scope,
                ..Default::default()
            };
            let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
            let mut request = agent.post(&url);
            if let Some(token) = &args.admin_token {
                request = request.header("authorization", &format!("Bearer {token}"));
            }
            let mut response = request.send_json(&options).with_context(|| {
                format!("cannot reach mockidp at {} (is it running? start it with `mockidp`)", args.url)
            })?;
            let status = response.status();
            let body: serde_json::Value =
                response.body_mut().read_json().context("mockidp answered with something other than JSON")?;
            if !status.is_success() {
                let description = body["error_description"].as_str().unwrap_or("no description");
                anyhow::bail!("mockidp refused ({status}): {description}");
            }
            if args.json {
                print_out(&format!("{}\n", serde_json::to_string_pretty(&body)?))?;
            } else {
                print_out(&format!("{}\n", body["token"].as_str().unwrap_or_default()))?;
            }
        }
    }
    Ok(())
}

fn health(url: &str) -> ExitCode {
    let agent: ureq::Agent =
        ureq::Agent::config_builder().timeout_global(Some(std::time::Duration::from_secs(2))).build().into();
    match agent.get(format!("{}/_mockidp/health", url.trim_end_matches('/'))).call() {
        Ok(_) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("mockidp: not healthy: {err}");
            ExitCode::FAILURE
        }
    }
}

fn scan(args: ScanArgs) -> ExitCode {
    let options = mockidp_server::scan::ScanOptions { progress: !args.quiet };
    let report = match mockidp_server::scan::run(&args.file, &options) {
        Ok(report) => report,
        Err(err) => {
            eprintln!("mockidp: scan could not run: {err}");
            return ExitCode::from(2);
        }
    };
    let written = (|| -> anyhow::Result<()> {
        if let Some(path) = &args.json {
            std::fs::write(path, report.to_json()).with_context(|| format!("cannot write {}", path.display()))?;
        }
        if let Some(path) = &args.junit {
            std::fs::write(path, report.to_junit()).with_context(|| format!("cannot write {}", path.display()))?;
        }
        print_out(&report.table())
    })();
    if let Err(err) = written {
        eprintln!("mockidp: error: {err:#}");
        return ExitCode::from(2);
    }
    ExitCode::from(u8::try_from(report.exit_code()).unwrap_or(2))
}

/// Writes to stdout; a reader that went away (`| head`) ends the output
/// quietly, as it does for other command-line tools.
fn print_out(text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        result => Ok(result?),
    }
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
