//! Messages between tabs of the same site over a BroadcastChannel, as the model's
//! [`TabMessage`] (structured-cloned plain objects).

use crate::model::cache::TabMessage;
use gloo_events::EventListener;
use wasm_bindgen::JsCast;

#[derive(Debug)]
#[must_use = "the channel closes when dropped"]
pub(crate) struct Channel {
    channel: web_sys::BroadcastChannel,
    _on_message: EventListener,
}

impl Channel {
    /// Listens on `name`; `on_message` gets each message another instance posts.
    pub(crate) fn open(name: &str, on_message: impl Fn(TabMessage) + 'static) -> Option<Channel> {
        super::env::global("BroadcastChannel")?;
        let channel = web_sys::BroadcastChannel::new(name).ok()?;
        let listener = EventListener::new(&channel, "message", move |event| {
            let data = event
                .dyn_ref::<web_sys::MessageEvent>()
                .map(web_sys::MessageEvent::data);
            if let Some(message) = data.and_then(|d| serde_wasm_bindgen::from_value(d).ok()) {
                on_message(message);
            }
        });
        Some(Channel {
            channel,
            _on_message: listener,
        })
    }

    pub(crate) fn post(&self, message: &TabMessage) {
        if let Some(value) = super::to_js(message) {
            let _ = self.channel.post_message(&value);
        }
    }
}

impl Drop for Channel {
    fn drop(&mut self) {
        self.channel.close();
    }
}
