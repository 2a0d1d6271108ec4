//! Reading the real list files in `data/sanctions/`.
