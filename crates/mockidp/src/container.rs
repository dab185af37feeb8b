//! The provider in a container, through testcontainers: for tests whose
//! other parts run in containers too. The image is built locally with
//! `cargo xtask docker` (`mockidp:<version>`, FROM scratch).

use std::borrow::Cow;

use testcontainers::{
    Image,
    core::{ContainerPort, WaitFor},
};

/// The port the provider listens on inside the container.
pub const PORT: ContainerPort = ContainerPort::Tcp(8080);

/// The `mockidp` image: the embedded default configuration unless
/// environment variables say otherwise.
///
/// ```no_run
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// use mockidp::testcontainers::{MockIdpImage, PORT};
/// use testcontainers::runners::AsyncRunner;
///
/// let container = MockIdpImage::default().start().await?;
/// let port = container.get_host_port_ipv4(PORT).await?;
/// let issuer = format!("http://127.0.0.1:{port}/default");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct MockIdpImage {
    tag: String,
    env: Vec<(String, String)>,
}

impl Default for MockIdpImage {
    fn default() -> Self {
        Self { tag: env!("CARGO_PKG_VERSION").to_owned(), env: Vec::new() }
    }
}

impl MockIdpImage {
    /// Another tag of the image.
    #[must_use]
    pub fn with_tag(mut self, tag: impl Into<String>) -> Self {
        self.tag = tag.into();
        self
    }

    /// A `MOCKIDP_*` setting, such as `("MOCKIDP_PUBLIC_URL", "http://mockidp:8080")`.
    #[must_use]
    pub fn with_env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }
}

impl Image for MockIdpImage {
    fn name(&self) -> &str {
        "mockidp"
    }

    fn tag(&self) -> &str {
        &self.tag
    }

    fn ready_conditions(&self) -> Vec<WaitFor> {
        // The banner is printed once the socket listens.
        vec![WaitFor::message_on_stdout("NOT FOR PRODUCTION")]
    }

    fn env_vars(&self) -> impl IntoIterator<Item = (impl Into<Cow<'_, str>>, impl Into<Cow<'_, str>>)> {
        self.env.iter().map(|(name, value)| (name.as_str(), value.as_str()))
    }

    fn expose_ports(&self) -> &[ContainerPort] {
        &[PORT]
    }
}
