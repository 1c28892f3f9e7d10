"""Which names say their value is a credential: one rule for headers, query parameters, cookies,
`headers:`/`env:` entries of a manifest and the keys of arguments shown in the audit log, the status
page and approval requests.

The rule reads a name as words (`X-Api-Key` → x, api, key; `accessToken` → access, token;
`client_secret` → client, secret) and hides it when a word is, or ends with, a credential word
(`token`, `key`, `secret`, `password`, …: `apikey`, `authtoken`), is an authorization word (`auth`,
`oauth`, `authorization`, `authentication`, `session`, `sessionid`) or a short credential word (`sig`,
`pwd`). Whole words, not substrings: `author`, `keywords` and `tokenizer` name ordinary values (found
by a new-user trial: an argument `author` was hidden in the audit log and the payload inspector, which
then showed the model a value it never received). It still errs on the side of hiding (`monkey`, a
`key` that is a database key): a hidden harmless value costs less than a leaked secret.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# A word that is, or ends with, one of these: `token`, `refreshtoken`, `apikey`, `passwd`, `cookies`
_ENDINGS = ("token", "tokens", "key", "keys", "secret", "secrets", "password", "passwords", "passwd", "passphrase",
            "signature", "credential", "credentials", "cookie", "cookies", "auth", "jwt")
# A word that begins with one of these: `authorization`, `authentication`, `authn`, `sessionid`
_STARTS = ("authoriz", "authent", "authn", "authz", "session")
# Whole words only: an Azure SAS `sig`, a `pwd`
_WORDS = frozenset({"sig", "pwd"})
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")


def name_words(name: str) -> list[str]:
    """A name's words, lower case, digits dropped (`X-Api-Key2` → x, api, key; `APIKEY` → apikey)."""
    return [w.lower() for w in _WORD.findall(name)]


def is_credential_name(name: str, extra: Iterable[str] = ()) -> bool:
    """Whether a name says its value is a credential (module docstring: the rule). `extra` adds exact
    names, compared without case (a source's own api-key header name)."""
    stripped = name.strip().lower()
    if any(stripped == e.strip().lower() for e in extra):
        return True
    return any(word.endswith(_ENDINGS) or word.startswith(_STARTS) or word in _WORDS for word in name_words(name))
