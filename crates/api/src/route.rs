//! The routes: one per call a workstation makes, each with the action it asks of the
//! caller's certificate. Every route is `POST /v1/<name>`; its number is what the
//! signed header carries, so a request signed for one route is refused on any other.

use pqbank_pki::Action;

macro_rules! routes {
    ($($(#[$m:meta])* $v:ident = $id:literal, $name:literal, $action:expr;)+) => {
        /// A call of the service.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Route { $($(#[$m])* $v,)+ }

        impl Route {
            /// Every route, in number order.
            pub const ALL: &'static [Self] = &[$(Self::$v,)+];

            /// The number the signed header carries.
            #[must_use]
            pub const fn id(self) -> u8 {
                match self { $(Self::$v => $id,)+ }
            }

            /// The route of a header's number.
            #[must_use]
            pub const fn from_id(id: u8) -> Option<Self> {
                match id { $($id => Some(Self::$v),)+ _ => None }
            }

            /// The name in the path `/v1/<name>`.
            #[must_use]
            pub const fn name(self) -> &'static str {
                match self { $(Self::$v => $name,)+ }
            }

            /// What the route asks of the caller's certificate; `None` for the calls made
            /// before a session exists (status, login, enrolment requests), which carry
            /// no signed header.
            #[must_use]
            pub const fn action(self) -> Option<Action> {
                match self { $(Self::$v => $action,)+ }
            }
        }
    };
}

routes! {
    /// The bank's root and time, before anyone signs in.
    Status = 0, "status", None;
    /// A login nonce for a certificate and device.
    LoginChallenge = 1, "login/challenge", None;
    /// The signed login transcript; answers with the sealed session secret.
    Login = 2, "login", None;
    /// A new hire's enrolment request (CSR and delivery key).
    EnrolmentRequest = 3, "enrolment/request", None;
    /// The state of one's own enrolment request, signed with the requested key.
    EnrolmentStatus = 4, "enrolment/status", None;
    /// Ends the session.
    Logout = 10, "logout", Some(Action::CustomerRead);
    /// Customers by name or number.
    CustomersSearch = 11, "customers/search", Some(Action::CustomerRead);
    /// The caller's drawer with its vault and variance account.
    Drawer = 12, "drawer", Some(Action::DrawerOperate);
    /// Opens the caller's drawer.
    DrawerOpen = 13, "drawer/open", Some(Action::DrawerOperate);
    /// Closes the caller's drawer.
    DrawerClose = 14, "drawer/close", Some(Action::DrawerOperate);
    /// Posts a signed transfer.
    TransferPost = 15, "transfers", Some(Action::TransferPost);
    /// Transfers waiting for a manager.
    TransfersPending = 16, "transfers/pending", Some(Action::TransferPost);
    /// A manager posts or voids a pending transfer.
    TransferResolve = 17, "transfers/resolve", Some(Action::TransferApprove);
    /// Drawer variances waiting for a sign-off.
    Variances = 18, "variances", Some(Action::VarianceApprove);
    /// A manager signs off a variance.
    VarianceSignOff = 19, "variances/sign-off", Some(Action::VarianceApprove);
    /// Staff and certificates, for a manager.
    Staff = 20, "staff", Some(Action::CertIssue);
    /// Staff and certificates, for an auditor.
    StaffAudit = 21, "staff/audit", Some(Action::AuditRead);
    /// What a revocation or renewal signs: the target and the newest own CRL.
    CertificatePrepare = 22, "certificates/prepare", Some(Action::CertRevoke);
    /// Revokes a certificate with the next signed CRL.
    CertificateRevoke = 23, "certificates/revoke", Some(Action::CertRevoke);
    /// Renews a certificate.
    CertificateRenew = 24, "certificates/renew", Some(Action::CertIssue);
    /// The current CRLs, for a manager.
    Crls = 25, "crls", Some(Action::CertRevoke);
    /// Enrolment requests waiting for a manager.
    Enrolments = 26, "enrolments", Some(Action::DeviceEnrol);
    /// A manager approves an enrolment with the signed certificate.
    EnrolmentApprove = 27, "enrolments/approve", Some(Action::CertIssue);
    /// The current CRLs, for an auditor.
    CrlsAudit = 28, "crls/audit", Some(Action::AuditRead);
    /// The log's size and root, for a checkpoint to sign.
    CheckpointHead = 30, "audit/checkpoint-head", Some(Action::AuditVerify);
    /// An auditor's signed checkpoint.
    Checkpoint = 31, "audit/checkpoint", Some(Action::AuditVerify);
    /// Verifies the whole log.
    Verify = 32, "audit/verify", Some(Action::AuditVerify);
    /// An event's inclusion proof.
    InclusionProof = 33, "audit/proof", Some(Action::AuditRead);
    /// A certificate's accountability chain.
    Chain = 34, "audit/chain", Some(Action::AuditRead);
    /// The accountability report's contents, for the auditor to sign.
    Report = 35, "audit/report", Some(Action::AuditReport);
    /// The log's activity by day and role.
    Activity = 36, "audit/activity", Some(Action::AuditRead);
}

impl Route {
    /// The HTTP path of the route.
    #[must_use]
    pub fn path(self) -> String {
        format!("/v1/{}", self.name())
    }

    /// The route of an HTTP path, if any.
    #[must_use]
    pub fn from_path(path: &str) -> Option<Self> {
        let name = path.strip_prefix("/v1/")?;
        Self::ALL.iter().copied().find(|r| r.name() == name)
    }

    /// True if the route needs a session and a signed header.
    #[must_use]
    pub const fn authenticated(self) -> bool {
        self.action().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Proves numbers and names are unique and each route is found by both.
    #[test]
    fn numbers_and_paths_name_one_route_each() {
        let mut ids = std::collections::BTreeSet::new();
        let mut names = std::collections::BTreeSet::new();
        for &r in Route::ALL {
            assert!(ids.insert(r.id()), "{r:?}");
            assert!(names.insert(r.name()), "{r:?}");
            assert_eq!(Route::from_id(r.id()), Some(r));
            assert_eq!(Route::from_path(&r.path()), Some(r));
        }
        assert_eq!(Route::from_path("/v1/transfers/"), None);
        assert_eq!(Route::from_path("/v2/transfers"), None);
        assert_eq!(Route::from_id(255), None);
    }
}
