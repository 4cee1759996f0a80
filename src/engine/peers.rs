//! The other tabs of the same site: one elected prober runs the periodic probes, every
//! verdict is told over the channel, and a tab starting without one asks for it. Knows
//! nothing of the engine: it reports through the callbacks it is given.

use crate::model::cache::TabMessage;
use crate::model::tabs::Lease;
use crate::platform::channel::Channel;
use crate::platform::election::Election;
use std::rc::Rc;

#[derive(Debug)]
#[must_use = "leaving the other tabs happens on drop"]
pub(crate) struct Peers {
    channel: Option<Channel>,
    election: Election,
}

impl Peers {
    pub(crate) fn join(
        name: &str,
        lease: Lease,
        on_message: impl Fn(TabMessage) + 'static,
        on_elected: Rc<dyn Fn()>,
    ) -> Peers {
        let channel = Channel::open(name, on_message);
        let election = Election::start(name, channel.is_some(), lease, on_elected);
        Peers { channel, election }
    }

    /// True when this instance runs the periodic probes: elected, or alone.
    pub(crate) fn is_prober(&self) -> bool {
        self.election.is_prober()
    }

    pub(crate) fn post(&self, message: &TabMessage) {
        if let Some(channel) = &self.channel {
            channel.post(message);
        }
    }
}
