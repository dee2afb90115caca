//! Form parsing for the user pages.
