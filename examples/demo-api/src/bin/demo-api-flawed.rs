//! The flawed demo API: `demo-api-flawed ISSUER_URL AUDIENCE [PORT]`.

use std::net::TcpListener;

use mockidp_demo_api::{Flaws, Settings, serve};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let issuer = args.next().unwrap_or_else(|| "http://127.0.0.1:8080/default".into());
    let audience = args.next().unwrap_or_else(|| "demo-api".into());
    let port = args.next().unwrap_or_else(|| "3000".into());
    let flaws = Flaws::all();
    let settings = Settings { jwks_uri: format!("{issuer}/jwks"), issuer, audience, flaws };
    let listener = TcpListener::bind(format!("127.0.0.1:{port}"))?;
    println!("demo API (flawed) on http://{}", listener.local_addr()?);
    actix_web::rt::System::new().block_on(async move { serve(listener, settings)?.await })?;
    Ok(())
}
