//! The trigger catalog: the flows, their trigger slots (where an Action can
//! run), and which `api` methods make sense at each. Part of the contract:
//! trigger names travel on the wire, and the control plane and the runners
//! must agree on them.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A trigger slot of a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Trigger {
    /// Login flow, before the credentials are checked (Pre-Login stage).
    #[serde(rename = "login.pre-credential-check")]
    LoginPreCredentialCheck,
    /// Login flow, after a successful login (Post-Login stage).
    #[serde(rename = "login.post-login")]
    LoginPostLogin,
    /// Registration flow, before the user is created.
    #[serde(rename = "registration.pre-create")]
    RegistrationPreCreate,
    /// Registration flow, after the user is created (asynchronous: cannot deny).
    #[serde(rename = "registration.post-create")]
    RegistrationPostCreate,
}

/// Every `api` method that reaches the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `api.access.allow()`
    AccessAllow,
    /// `api.access.deny(reason)`
    AccessDeny,
    /// `api.accessToken.setCustomClaim(name, value)`
    AccessTokenSetCustomClaim,
    /// `api.accessToken.addScope(scope)`
    AccessTokenAddScope,
    /// `api.accessToken.removeScope(scope)`
    AccessTokenRemoveScope,
    /// `api.idToken.setCustomClaim(name, value)`
    IdTokenSetCustomClaim,
    /// `api.user.setAppMetadata(key, value)`
    UserSetAppMetadata,
    /// `api.user.setUserMetadata(key, value)`
    UserSetUserMetadata,
    /// `api.fetch(url, init)`
    Fetch,
}

impl Method {
    /// Every method.
    pub const ALL: [Method; 9] = [
        Method::AccessAllow,
        Method::AccessDeny,
        Method::AccessTokenSetCustomClaim,
        Method::AccessTokenAddScope,
        Method::AccessTokenRemoveScope,
        Method::IdTokenSetCustomClaim,
        Method::UserSetAppMetadata,
        Method::UserSetUserMetadata,
        Method::Fetch,
    ];

    /// The name an Action author writes.
    pub fn js_name(self) -> &'static str {
        match self {
            Method::AccessAllow => "api.access.allow",
            Method::AccessDeny => "api.access.deny",
            Method::AccessTokenSetCustomClaim => "api.accessToken.setCustomClaim",
            Method::AccessTokenAddScope => "api.accessToken.addScope",
            Method::AccessTokenRemoveScope => "api.accessToken.removeScope",
            Method::IdTokenSetCustomClaim => "api.idToken.setCustomClaim",
            Method::UserSetAppMetadata => "api.user.setAppMetadata",
            Method::UserSetUserMetadata => "api.user.setUserMetadata",
            Method::Fetch => "api.fetch",
        }
    }
}

/// A flow of the identity platform, made of trigger slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Flow {
    /// Sign-in.
    Login,
    /// Sign-up.
    Registration,
}

impl Flow {
    /// Every flow.
    pub const ALL: [Flow; 2] = [Flow::Login, Flow::Registration];

    /// The flow's name, as the first part of its triggers' names.
    pub fn as_str(self) -> &'static str {
        match self {
            Flow::Login => "login",
            Flow::Registration => "registration",
        }
    }

    /// Its trigger slots, in the order they happen.
    pub fn triggers(self) -> impl Iterator<Item = Trigger> {
        Trigger::ALL.into_iter().filter(move |t| t.flow() == self)
    }
}

impl Trigger {
    /// The flow the slot belongs to.
    pub fn flow(self) -> Flow {
        match self {
            Trigger::LoginPreCredentialCheck | Trigger::LoginPostLogin => Flow::Login,
            Trigger::RegistrationPreCreate | Trigger::RegistrationPostCreate => Flow::Registration,
        }
    }

    /// What happens at this slot, for people choosing one.
    pub fn description(self) -> &'static str {
        match self {
            Trigger::LoginPreCredentialCheck => {
                "before the credentials are checked: allow or deny the attempt"
            }
            Trigger::LoginPostLogin => {
                "after a successful login: deny, add token claims and scopes, update metadata"
            }
            Trigger::RegistrationPreCreate => {
                "before the user is created: allow or deny, set initial metadata"
            }
            Trigger::RegistrationPostCreate => {
                "after the user is created: notify other systems (cannot deny)"
            }
        }
    }

    /// Every trigger, in flow order.
    pub const ALL: [Trigger; 4] = [
        Trigger::LoginPreCredentialCheck,
        Trigger::LoginPostLogin,
        Trigger::RegistrationPreCreate,
        Trigger::RegistrationPostCreate,
    ];

    /// The slot's name, `flow.stage`.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::LoginPreCredentialCheck => "login.pre-credential-check",
            Trigger::LoginPostLogin => "login.post-login",
            Trigger::RegistrationPreCreate => "registration.pre-create",
            Trigger::RegistrationPostCreate => "registration.post-create",
        }
    }

    /// Whether an Action running at this trigger may call `method`.
    ///
    /// Tokens exist only once credentials are checked, so claims and scopes
    /// belong to post-login; a user's metadata can be written once there is
    /// a user (or one about to be created); post-create runs after the fact
    /// and cannot deny.
    pub fn allows(self, method: Method) -> bool {
        use Method::*;
        match self {
            Trigger::LoginPreCredentialCheck => matches!(method, AccessAllow | AccessDeny | Fetch),
            Trigger::LoginPostLogin => true,
            Trigger::RegistrationPreCreate => matches!(
                method,
                AccessAllow | AccessDeny | UserSetAppMetadata | UserSetUserMetadata | Fetch
            ),
            Trigger::RegistrationPostCreate => {
                matches!(
                    method,
                    AccessAllow | UserSetAppMetadata | UserSetUserMetadata | Fetch
                )
            }
        }
    }

    /// The methods this trigger allows, for error messages and docs.
    pub fn allowed_methods(self) -> Vec<&'static str> {
        Method::ALL
            .into_iter()
            .filter(|m| self.allows(*m))
            .map(Method::js_name)
            .collect()
    }
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A trigger name that is not in the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownTrigger(pub String);

impl fmt::Display for UnknownTrigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown trigger {:?}; known triggers: login.pre-credential-check, login.post-login, registration.pre-create, registration.post-create",
            self.0
        )
    }
}

impl std::error::Error for UnknownTrigger {}

impl FromStr for Trigger {
    type Err = UnknownTrigger;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Trigger::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownTrigger(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for trigger in Trigger::ALL {
            assert_eq!(trigger.as_str().parse::<Trigger>().ok(), Some(trigger));
        }
        assert!("login.nope".parse::<Trigger>().is_err());
    }

    #[test]
    fn no_deny_after_create_and_no_claims_before_credentials() {
        assert!(!Trigger::RegistrationPostCreate.allows(Method::AccessDeny));
        assert!(!Trigger::LoginPreCredentialCheck.allows(Method::AccessTokenSetCustomClaim));
        assert!(Trigger::LoginPostLogin.allows(Method::IdTokenSetCustomClaim));
    }

    #[test]
    fn every_trigger_is_in_exactly_its_flow() {
        let listed: Vec<Trigger> = Flow::ALL.into_iter().flat_map(Flow::triggers).collect();
        assert_eq!(listed, Trigger::ALL);
        for trigger in Trigger::ALL {
            assert!(trigger.as_str().starts_with(trigger.flow().as_str()));
        }
    }
}
