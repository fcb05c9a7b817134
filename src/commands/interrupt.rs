//! Ctrl-C during `extract`: say that the run can be resumed, then end as SIGINT would.
//!
//! Records are appended one whole line at a time and a rerun skips the items they complete, so
//! nothing needs cleaning up: the handler writes its prepared message with `write(2)` and
//! re-raises SIGINT with the default action (the shell sees an interrupted process, status 130).

use std::sync::OnceLock;

/// The message, made before the handler is installed (a handler must not allocate).
static MESSAGE: OnceLock<Vec<u8>> = OnceLock::new();

extern "C" fn on_sigint(_: libc::c_int) {
    if let Some(message) = MESSAGE.get() {
        // SAFETY: write(2), signal(2) and raise(3) are async-signal-safe; `message` is a
        // buffer that lives for the whole process and is never written again.
        unsafe {
            libc::write(2, message.as_ptr().cast(), message.len());
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            libc::raise(libc::SIGINT);
        }
    }
}

/// On SIGINT, prints `message` (one line) on stderr and ends the process as SIGINT does.
pub fn on_interrupt_print(message: &str) {
    let _ = MESSAGE.set(format!("\nreelframe: {message}\n").into_bytes());
    // SAFETY: the handler only calls async-signal-safe functions on a buffer set above.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigint as extern "C" fn(libc::c_int) as usize;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGINT, &action, std::ptr::null_mut());
    }
}
