//! An SDK interceptor that records what the real `GetAuthorizationToken` went through: the URL
//! the endpoint rules resolved, the HTTP status, and the server's `Date` header with the local
//! time it arrived (for the clock skew). Nothing of the body, so never the token.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::{Intercept, SharedInterceptor};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// What the call went through so far.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    /// The request URL (endpoint and path).
    pub uri: Option<String>,
    pub status: Option<u16>,
    /// The `Date` header and the local time the response arrived.
    pub date: Option<(String, SystemTime)>,
}

/// Shared between the interceptor and the doctor.
#[derive(Debug, Clone, Default)]
pub struct Watch(Arc<Mutex<Seen>>);

impl Watch {
    pub fn interceptor(&self) -> SharedInterceptor {
        SharedInterceptor::new(self.clone())
    }

    pub fn seen(&self) -> Seen {
        self.0.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn update(&self, f: impl FnOnce(&mut Seen)) {
        if let Ok(mut s) = self.0.lock() {
            f(&mut s);
        }
    }
}

impl Intercept for Watch {
    fn name(&self) -> &'static str {
        "DoctorWatch"
    }

    fn read_before_transmit(
        &self,
        ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let uri = ctx.request().uri().to_owned();
        self.update(|s| s.uri = Some(uri));
        Ok(())
    }

    fn read_after_transmit(
        &self,
        ctx: &BeforeDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let r = ctx.response();
        let status = r.status().as_u16();
        let date = r
            .headers()
            .get("date")
            .map(|d| (d.to_owned(), SystemTime::now()));
        self.update(|s| {
            s.status = Some(status);
            s.date = date;
        });
        Ok(())
    }
}
