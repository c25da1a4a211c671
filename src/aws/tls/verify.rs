//! Trust anchors on demand: a server-certificate verifier that parses, out of the whole bundle,
//! only the certificates a server's chain can end at (issue 14).
//!
//! Path building can only end at a trust anchor whose subject is the issuer of a certificate the
//! server sent (webpki matches `issuer == anchor.subject` and nothing else). So the verifier
//! collects the issuer names of the end-entity certificate and of every intermediate, takes the
//! bundle's certificates whose subject is one of those names (known from loading, [`super::pem`]),
//! decodes and parses only those as trust anchors, and hands them to rustls's
//! own `WebPkiServerVerifier`, which then does everything it always does: signatures, validity
//! dates, name, key usage, basic and name constraints. Verification is as strict as with every
//! root loaded, for a fraction of the work: with a 150-certificate bundle, one or two parses
//! instead of 150.

use super::pem::Candidate;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::{CertificateError, DigitallySignedStruct, Error, RootCertStore, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use std::sync::Arc;

/// The verifier: the bundle's certificates (known by subject, unparsed) and the crypto provider whose
/// signature algorithms verify chains and handshakes.
#[derive(Debug)]
pub struct OnDemandVerifier {
    candidates: Arc<Vec<Candidate>>,
    provider: Arc<CryptoProvider>,
}

impl OnDemandVerifier {
    pub fn new(candidates: Arc<Vec<Candidate>>, provider: Arc<CryptoProvider>) -> Self {
        OnDemandVerifier {
            candidates,
            provider,
        }
    }

    /// The trust anchors `chain` can end at: every candidate whose subject is the issuer of a
    /// certificate in the chain. Certificates that do not parse are skipped, as webpki would
    /// reject them anyway (a bad end-entity certificate fails in the real verifier below).
    pub fn anchors_for(&self, chain: &[&CertificateDer<'_>]) -> RootCertStore {
        let issuers: Vec<Vec<u8>> = chain
            .iter()
            .filter_map(|der| webpki::EndEntityCert::try_from(*der).ok())
            .map(|cert| cert.issuer().to_vec())
            .filter(|issuer| !issuer.is_empty())
            .collect();
        let mut store = RootCertStore::empty();
        let matching = self
            .candidates
            .iter()
            .filter(|c| issuers.iter().any(|name| c.subject() == name.as_slice()));
        for der in matching.filter_map(Candidate::der) {
            let Ok(anchor) = webpki::anchor_from_trusted_cert(&der) else {
                continue;
            };
            let subject = anchor.subject.as_ref();
            if issuers.iter().any(|name| subject == name.as_slice()) {
                store.roots.push(anchor.to_owned());
            }
        }
        store
    }
}

impl ServerCertVerifier for OnDemandVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let chain: Vec<&CertificateDer<'_>> =
            std::iter::once(end_entity).chain(intermediates).collect();
        let anchors = self.anchors_for(&chain);
        // No anchor at all: what webpki answers when none matches.
        let verifier = WebPkiServerVerifier::builder_with_provider(
            Arc::new(anchors),
            Arc::clone(&self.provider),
        )
        .build()
        .map_err(|_| Error::InvalidCertificate(CertificateError::UnknownIssuer))?;
        verifier.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls_pki_types::pem::PemObject;

    const TEST_CA: &str = include_str!("../../../tests/data/test-ca.pem");

    fn provider() -> Arc<CryptoProvider> {
        Arc::new(rustls::crypto::ring::default_provider())
    }

    fn ca() -> CertificateDer<'static> {
        CertificateDer::from_pem_slice(TEST_CA.as_bytes()).unwrap()
    }

    /// The system bundle's certificates plus the test CA, in that order.
    fn big_bundle() -> Vec<Candidate> {
        let mut text = super::super::BUNDLE_FILES
            .iter()
            .find_map(|p| std::fs::read(p).ok())
            .unwrap_or_default();
        text.extend_from_slice(TEST_CA.as_bytes());
        super::super::pem::candidates(Arc::from(text))
    }

    #[test]
    fn a_self_signed_root_finds_itself_and_nothing_else() {
        let v = OnDemandVerifier::new(Arc::new(big_bundle()), provider());
        // the test CA is self-signed: its issuer is its own subject
        let ca = ca();
        let store = v.anchors_for(&[&ca]);
        assert_eq!(store.len(), 1);
        let parsed = webpki::EndEntityCert::try_from(&ca).unwrap();
        assert_eq!(store.roots[0].subject.as_ref(), parsed.subject());
    }

    #[test]
    fn no_matching_issuer_means_no_anchor() {
        let v = OnDemandVerifier::new(Arc::new(vec![]), provider());
        assert!(v.anchors_for(&[&ca()]).is_empty());
        let junk = CertificateDer::from(vec![0x30, 0x00]);
        assert!(Candidate::from_der(junk.clone()).is_none());
        let v = OnDemandVerifier::new(Arc::new(big_bundle()), provider());
        assert!(v.anchors_for(&[&junk]).is_empty());
    }

    #[test]
    fn unknown_issuer_is_refused() {
        let v = OnDemandVerifier::new(Arc::new(vec![]), provider());
        let name = ServerName::try_from("localhost").unwrap();
        let err = v
            .verify_server_cert(&ca(), &[], &name, &[], UnixTime::now())
            .unwrap_err();
        assert_eq!(
            err,
            Error::InvalidCertificate(CertificateError::UnknownIssuer)
        );
    }
}
