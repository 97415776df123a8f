//! What a caught panic said, for the boundaries that catch one: the
//! engine's step (reported as a failure status) and every C export.

/// The panic's message, when it carried text (as `panic!` and `expect` do).
pub(crate) fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_string()
    }
}
