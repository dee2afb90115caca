//! Handlers of the administrator's user pages.
