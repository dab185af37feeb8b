//! The protocol core of mockidp: signing keys, JWK sets, JWT headers and
//! claims, and the token forge.
//!
//! Everything here is plain data and pure functions. The crate does no I/O,
//! knows nothing of HTTP or async runtimes, and never reads the wall clock
//! except through [`Clock`], so tests can pin time.
//!
//! ```
//! use mockidp_core::{Algorithm, Audience, Claims, SigningKey, TokenBuilder};
//!
//! // Arrange
//! let key = SigningKey::generate(Algorithm::ES256)?;
//!
//! // Act
//! let token = TokenBuilder::new(&key)
//!     .with_claims(Claims::new().with_iss("http://127.0.0.1:8080/default").with_sub("alice"))
//!     .with_audience(Audience::one("my-api"))
//!     .sign()?;
//!
//! // Assert
//! assert_eq!(token.split('.').count(), 3);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod alg;
mod clock;
pub mod config;
mod error;
mod forge;
mod jwk;
mod jwt;
mod key;
pub mod pitfall;
mod pool;
pub mod rp;
mod types;
mod verify;

pub use alg::{Algorithm, KeyFamily};
pub use clock::{Clock, FixedClock, ManualClock, SystemClock};
pub use error::{Error, ErrorKind};
pub use forge::{TokenBuilder, b64url, b64url_decode};
pub use jwk::{EcCurve, Jwk, JwkParams, JwkSet, OkpCurve};
pub use jwt::{Audience, Claims, Header, NumericDate};
pub use key::{KeySet, SigningKey};
pub use pool::KeyPool;
pub use types::{ClientId, ClientSecret, KeyId, Subject};
pub use verify::VerifyError;
