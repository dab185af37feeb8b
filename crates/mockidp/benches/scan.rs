//! How long a full scan takes: every catalogue case, both controls, against
//! the correct demo API on loopback. `cargo xtask bench` reports the median.

use std::{net::TcpListener, time::Duration};

use criterion::{Criterion, criterion_group, criterion_main};
use mockidp::MockIdp;
use mockidp_demo_api::{Flaws, Settings, serve};
use mockidp_server::scan::{ScanOptions, run};

fn full_scan(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let idp = runtime.block_on(MockIdp::start());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let api = format!("http://{}", listener.local_addr().unwrap());
    let settings = Settings {
        issuer: idp.issuer(),
        jwks_uri: idp.jwks_uri(),
        audience: "orders-api".into(),
        flaws: Flaws::default(),
    };
    runtime.spawn(runtime.block_on(async { serve(listener, settings) }).unwrap());
    let path = std::env::temp_dir().join(format!("mockidp-bench-scan-{}.yaml", std::process::id()));
    std::fs::write(
        &path,
        format!(
            "provider:\n  url: {}\ntarget:\n  url: {api}\n  audience: orders-api\nrequests:\n  orders: {{ path: /orders, scopes: [orders:read] }}\n  profile: {{ path: \"/users/{{owner}}/profile\", owner: alice }}\n",
            idp.uri()
        ),
    )
    .unwrap();
    let report = run(&path, &ScanOptions::default()).unwrap();
    assert_eq!(report.exit_code(), 0, "{}", report.table());
    c.bench_function("full scan", |b| b.iter(|| run(&path, &ScanOptions::default()).unwrap()));
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(8)).warm_up_time(Duration::from_secs(1));
    targets = full_scan
}
criterion_main!(benches);
