//! The other tabs of the same site: one elected prober runs the periodic probes, every
//! verdict is told over the channel, and a tab starting without one asks for it. Knows
//! nothing of the engine: it reports through the callbacks it is given.

use crate::model::cache::TabMessage;
use crate::platform::channel::Channel;
use crate::platform::election::Election;
use std::rc::Rc;

#[derive(Debug)]
#[must_use = "leaving the other tabs happens on drop"]
pub(crate) struct Peers {
    channel: Option<Channel>,
    /// None without a channel: verdicts could not be shared, so this instance probes
    /// for itself rather than wait for an elected prober it would never hear.
    election: Option<Election>,
}

impl Peers {
    pub(crate) fn join(
        name: &str,
        lease_ms: u32,
        on_message: impl Fn(TabMessage) + 'static,
        on_elected: Rc<dyn Fn()>,
    ) -> Peers {
        let channel = Channel::open(name, on_message);
        let election = match channel {
            Some(_) => Some(Election::start(name, lease_ms, on_elected)),
            None => {
                on_elected();
                None
            }
        };
        Peers { channel, election }
    }

    /// True when this instance runs the periodic probes: elected, or with no tab to
    /// share with (no channel, no election).
    pub(crate) fn is_prober(&self) -> bool {
        self.election.as_ref().is_none_or(Election::is_prober)
    }

    pub(crate) fn post(&self, message: &TabMessage) {
        if let Some(channel) = &self.channel {
            channel.post(message);
        }
    }
}
