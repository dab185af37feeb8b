//! How long a test waits for a provider and for a token.
//!
//! `cargo bench -p mockidp --bench start` measures the release build;
//! `cargo xtask bench` runs it under the bench and the dev profile and
//! prints the medians. Keys are generated before measuring: the target is
//! the start of a provider once keys exist in the process.

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use mockidp::{Algorithm, MockIdp, SigningKey, TokenBuilder};

fn start(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    // Warm the process key pool: the first start generates the RSA key.
    drop(runtime.block_on(MockIdp::start()));

    c.bench_function("MockIdp::start", |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                let began = Instant::now();
                let idp = runtime.block_on(MockIdp::start());
                total += began.elapsed();
                // Stopping is not part of the start; it happens outside the clock.
                drop(idp);
            }
            total
        });
    });
}

fn mint(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let idp = runtime.block_on(MockIdp::start());
    c.bench_function("mint RS256 access token", |b| {
        b.iter(|| idp.token().with_scope("orders:read").sign().unwrap());
    });

    let es256 = SigningKey::generate(Algorithm::ES256).unwrap();
    c.bench_function("mint ES256 access token", |b| {
        b.iter(|| {
            TokenBuilder::new(&es256)
                .with_typ("at+jwt")
                .with_issuer(idp.issuer())
                .with_subject("alice")
                .with_scope("orders:read")
                .sign()
                .unwrap()
        });
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_millis(500));
    targets = start, mint
}
criterion_main!(benches);
