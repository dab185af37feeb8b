//! Wiremock-style expectations on what the provider receives.

use mockidp::{Expectation, MockIdp};

use crate::support::client_credentials;

#[tokio::test]
async fn a_met_expectation_passes_silently() {
    let idp = MockIdp::start().await;
    idp.expect(
        Expectation::token_request().from_client("demo-client").with_param("grant_type", "client_credentials").times(1),
    );
    idp.expect(Expectation::request("GET", "/jwks").times(0));

    client_credentials(&idp.issuer(), "demo-client", "demo-secret", None).await;

    assert_eq!(idp.verify(), Ok(()));
}

#[tokio::test]
async fn an_unmet_expectation_panics_on_drop_with_a_readable_message() {
    let idp = MockIdp::start().await;
    idp.expect(Expectation::token_request().from_client("web").times(1..));
    client_credentials(&idp.issuer(), "demo-client", "demo-secret", None).await;
    let message = idp.verify().unwrap_err();
    assert_eq!(
        message,
        "mockidp: 1 expectation was not met:\n  - token request from client `web`: expected at least 1, received 0\nrequests received (1):\n  POST /default/token client `demo-client` -> 200\n"
    );

    let dropped = std::thread::spawn(move || drop(idp)).join().expect_err("drop panics");
    assert_eq!(dropped.downcast_ref::<String>(), Some(&message));
}

#[tokio::test]
async fn no_second_panic_when_the_test_already_failed() {
    let idp = MockIdp::start().await;
    idp.expect(Expectation::token_request().times(1));
    let outcome = std::thread::spawn(move || {
        let _idp = idp;
        panic!("the test's own failure");
    })
    .join()
    .expect_err("the thread panicked");
    // One panic, the test's own: a second one while unwinding would abort the process.
    assert_eq!(outcome.downcast_ref::<&str>(), Some(&"the test's own failure"));
}

#[tokio::test]
async fn ranges_say_how_many() {
    let idp = MockIdp::start().await;
    for _ in 0..3 {
        client_credentials(&idp.issuer(), "demo-client", "demo-secret", None).await;
    }
    idp.expect(Expectation::token_request().times(2..=3));
    assert_eq!(idp.verify(), Ok(()));
    idp.expect(Expectation::token_request().times(..=2));
    assert!(idp.verify().unwrap_err().contains("expected at most 2, received 3"));
    // The last expectation was meant to fail; the drop must not panic for it.
    idp.reset_expectations();
}
