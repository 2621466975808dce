//! A browser's answer, waited for no longer than a bound. Opening a
//! database queues behind another tab's upgrade, and the origin private
//! file system has been seen never to settle in some private windows;
//! either would keep a load waiting for ever. Past the bound the caller
//! goes on without the answer, and one that comes late is handed to a
//! clean-up (a connection closed) instead of being dropped open.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;

use js_sys::{Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Resolves after `ms` milliseconds (in a window or a worker).
pub(crate) fn after_ms(ms: u32) -> Promise {
    Promise::new(&mut |resolve, _| {
        let global = js_sys::global();
        if let Ok(set_timeout) = Reflect::get(&global, &"setTimeout".into())
            .and_then(|f| f.dyn_into::<js_sys::Function>())
        {
            let _ = set_timeout.call2(&global, &resolve, &ms.into());
        }
    })
}

/// What `answer` gives, if it gives it within `ms` milliseconds; `None`
/// after that, and an answer that comes later goes to `late`.
pub(crate) async fn answered_within<T: 'static>(
    ms: u32,
    answer: impl Future<Output = T> + 'static,
    late: impl FnOnce(T) + 'static,
) -> Option<T> {
    let outcome: Rc<RefCell<Option<T>>> = Rc::new(RefCell::new(None));
    let gave_up = Rc::new(Cell::new(false));
    let mut work = Some((answer, late));
    let finished = Promise::new(&mut |resolve, _| {
        let (outcome, gave_up) = (outcome.clone(), gave_up.clone());
        let (answer, late) = work.take().expect("the executor runs once");
        wasm_bindgen_futures::spawn_local(async move {
            let answered = answer.await;
            if gave_up.get() {
                return late(answered);
            }
            *outcome.borrow_mut() = Some(answered);
            let _ = resolve.call0(&JsValue::NULL);
        });
    });
    let _ = JsFuture::from(Promise::race(&js_sys::Array::of2(&finished, &after_ms(ms)))).await;
    let answered = outcome.borrow_mut().take();
    if answered.is_none() {
        gave_up.set(true);
    }
    answered
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

    wasm_bindgen_test_configure!(run_in_browser);

    /// A promise that settles with `value` after `ms` milliseconds.
    async fn after(ms: u32, value: u32) -> u32 {
        let _ = JsFuture::from(after_ms(ms)).await;
        value
    }

    #[wasm_bindgen_test]
    async fn an_answer_in_time_is_given_and_a_late_one_goes_to_the_clean_up() {
        let cleaned: Rc<Cell<Option<u32>>> = Rc::default();
        let in_time = answered_within(200, after(10, 7), |_| panic!("in time")).await;
        assert_eq!(in_time, Some(7));

        let sink = cleaned.clone();
        let started = js_sys::Date::now();
        let too_late = answered_within(50, after(300, 9), move |v| sink.set(Some(v))).await;
        let waited = js_sys::Date::now() - started;
        assert_eq!(too_late, None);
        assert!((45.0..250.0).contains(&waited), "waited {waited} ms");
        assert_eq!(cleaned.get(), None, "not answered yet");
        let _ = JsFuture::from(after_ms(400)).await;
        assert_eq!(cleaned.get(), Some(9), "the late answer was cleaned up");
    }

    #[wasm_bindgen_test]
    async fn an_answer_that_never_comes_is_given_up_on() {
        let never = JsFuture::from(Promise::new(&mut |_, _| {}));
        let started = js_sys::Date::now();
        let answered = answered_within(80, never, |_| ()).await;
        assert!(answered.is_none());
        assert!(js_sys::Date::now() - started >= 75.0);
    }
}
