//! Name normalisation: scripts, diacritics, case, punctuation, honorifics, company forms.
