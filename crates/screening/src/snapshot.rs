//! A versioned import of list files.
