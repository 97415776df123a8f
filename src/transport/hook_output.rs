//! Copies of what goes out, kept for the rawOutput and xmlOutput hooks
//! until the engine reads them: one mechanism for every transport. Only
//! what a hook asked for is kept, and a transport holding any reports
//! itself pending, so that the hooks run as the text goes out, not when
//! the server next says something.

use super::Incoming;
use crate::xml::Element;
use std::sync::Arc;

#[derive(Default)]
pub(crate) struct HookOutput {
    raw: Option<Vec<Arc<str>>>,
    xml: Option<Vec<Element>>,
}

impl HookOutput {
    /// Whether the rawOutput hook wants the text sent.
    pub fn want_raw(&mut self, on: bool) {
        if on != self.raw.is_some() {
            self.raw = on.then(Vec::new);
        }
    }

    /// Whether the xmlOutput hook wants what the transport writes itself.
    pub fn want_xml(&mut self, on: bool) {
        if on != self.xml.is_some() {
            self.xml = on.then(Vec::new);
        }
    }

    /// `text` went out (shared, not copied).
    pub fn raw(&mut self, text: &Arc<str>) {
        if let Some(raw) = self.raw.as_mut() {
            raw.push(Arc::clone(text));
        }
    }

    /// `elem` went out; built only if the hook wants it.
    pub fn xml(&mut self, elem: impl FnOnce() -> Element) {
        if let Some(xml) = self.xml.as_mut() {
            xml.push(elem());
        }
    }

    pub fn pending(&self) -> bool {
        self.raw.as_ref().is_some_and(|r| !r.is_empty())
            || self.xml.as_ref().is_some_and(|x| !x.is_empty())
    }

    /// Hands the copies to the engine, xmlOutput's first (Strophe calls
    /// xmlOutput before rawOutput for each thing it sends).
    pub fn drain_into(&mut self, out: &mut Vec<Incoming>) {
        if let Some(xml) = self.xml.as_mut() {
            out.extend(xml.drain(..).map(Incoming::XmlOut));
        }
        if let Some(raw) = self.raw.as_mut() {
            out.extend(raw.drain(..).map(Incoming::RawOut));
        }
    }
}
