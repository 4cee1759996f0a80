//! Messages between tabs of the same site over a BroadcastChannel, as the model's
//! [`TabMessage`] (structured-cloned plain objects): a verdict is its entry's object, a
//! question `null`.

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
            let message = match data {
                Some(d) if d.is_null() => Some(TabMessage::Ask),
                Some(d) => super::json::entry_from_js(&d).map(TabMessage::Told),
                None => None,
            };
            if let Some(message) = message {
                on_message(message);
            }
        });
        Some(Channel {
            channel,
            _on_message: listener,
        })
    }

    pub(crate) fn post(&self, message: &TabMessage) {
        let value = match message {
            TabMessage::Told(entry) => super::json::entry_to_js(entry),
            TabMessage::Ask => Some(wasm_bindgen::JsValue::NULL),
        };
        if let Some(value) = value {
            let _ = self.channel.post_message(&value);
        }
    }
}

impl Drop for Channel {
    fn drop(&mut self) {
        self.channel.close();
    }
}
