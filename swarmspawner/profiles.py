"""Profiles: the servers an admin offers, and the check of what a user picked.

Pure: no spawner, no Docker, no Jinja. ``profile_list`` is written the way KubeSpawner's
admins know it::

    c.SwarmSpawner.profile_list = [
        {
            "display_name": "Small (1 CPU, 2 GB)",
            "slug": "small",                      # optional: derived from display_name
            "description": "For notebooks and light work.",
            "default": True,
            "spawner_override": {"cpu_limit": 1, "mem_limit": "2G"},
            "profile_options": {
                "image": {
                    "display_name": "Image",
                    "choices": {
                        "base": {"display_name": "Base", "default": True,
                                 "spawner_override": {"image": "quay.io/jupyter/base-notebook"}},
                        "r": {"display_name": "R", "spawner_override": {"image": "..."}},
                    },
                    "unlisted_choice": {
                        "enabled": True,
                        "display_name": "Other tag of base-notebook",
                        "validation_regex": r"[a-z0-9][a-z0-9._-]{0,60}",
                        "spawner_override": {"image": "quay.io/jupyter/base-notebook:{value}"},
                    },
                },
            },
        },
    ]

``kubespawner_override`` is accepted as another name for ``spawner_override``.

The user's pick travels as ``user_options`` (from the form and from the REST API alike)::

    {"profile": "small", "image": "r"}                          # a listed choice
    {"profile": "small", "image--unlisted-choice": "2024-05-01"}  # free text

Every field is optional: a missing ``profile`` means the default profile, a missing option
its default choice. Anything else is refused with a :class:`UserOptionsError`.
"""

import copy
import re
from dataclasses import dataclass, field

from .options import MAX_TEXT, UserOptionsError, check_segment, check_shape, check_text

PROFILE_FIELD = "profile"
UNLISTED_SUFFIX = "--unlisted-choice"
#: Form fields of an option are named ``profile-option-{profile}--{option}`` (plus the
#: unlisted suffix for the text box): every profile's fields are posted, since the form
#: works without JavaScript, and only the chosen profile's are read.
FORM_OPTION_PREFIX = "profile-option-"
#: The value of the select entry that means "use the text box below".
UNLISTED_CHOICE_VALUE = UNLISTED_SUFFIX

_OVERRIDE_KEYS = ("spawner_override", "kubespawner_override")
_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.]*(-[A-Za-z0-9_.]+)*$")


class ProfileConfigError(ValueError):
    """The admin's ``profile_list`` cannot be used; the message says where it is wrong.

    ``setting``: the spawner setting that could not take its value, when one could not.
    """

    def __init__(self, message, setting=None):
        super().__init__(message)
        self.setting = setting


@dataclass
class Choice:
    key: str
    display_name: str
    default: bool = False
    overrides: dict = field(default_factory=dict)


@dataclass
class Unlisted:
    display_name: str
    regex: re.Pattern | None
    overrides: dict = field(default_factory=dict)
    message: str = ""


@dataclass
class Option:
    name: str
    display_name: str
    choices: dict = field(default_factory=dict)
    unlisted: Unlisted | None = None

    @property
    def default_choice(self):
        for choice in self.choices.values():
            if choice.default:
                return choice
        return next(iter(self.choices.values()), None)


@dataclass
class Profile:
    slug: str
    display_name: str
    description: str = ""
    default: bool = False
    overrides: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)


# --- the admin's list -----------------------------------------------------------


def slugify(text):
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")


def load_profiles(profile_list):
    """The admin's ``profile_list`` -> :class:`Profile` objects, or a ProfileConfigError."""
    if not isinstance(profile_list, (list, tuple)):
        raise ProfileConfigError(f"profile_list must be a list of dicts, not {profile_list!r:.80}")
    profiles = []
    for n, raw in enumerate(profile_list):
        where = f"profile_list[{n}]"
        if not isinstance(raw, dict):
            raise ProfileConfigError(f"{where} must be a dict, not {raw!r:.80}")
        _check_keys(where, raw, {"display_name", "slug", "description", "default",
                                 "profile_options", *_OVERRIDE_KEYS})
        display_name = str(raw.get("display_name") or raw.get("slug") or "")
        slug = str(raw.get("slug") or slugify(display_name))
        if not slug or not _NAME_PATTERN.match(slug):
            raise ProfileConfigError(
                f"{where} needs a display_name or a slug of letters, digits, '-', '_' and '.'"
            )
        where = f"profile {slug!r}"
        options = {}
        raw_options = raw.get("profile_options") or {}
        if not isinstance(raw_options, dict):
            raise ProfileConfigError(f"{where}: profile_options must be a dict of options")
        for name, raw_option in raw_options.items():
            options[name] = _load_option(f"{where}, option {name!r}", name, raw_option)
        profiles.append(Profile(
            slug=slug,
            display_name=display_name,
            description=str(raw.get("description") or ""),
            default=bool(raw.get("default", False)),
            overrides=_overrides(where, raw),
            options=options,
        ))
    slugs = [p.slug for p in profiles]
    duplicates = sorted({s for s in slugs if slugs.count(s) > 1})
    if duplicates:
        raise ProfileConfigError(f"profile_list has several profiles with slug {duplicates}")
    if sum(p.default for p in profiles) > 1:
        raise ProfileConfigError("profile_list marks more than one profile as default")
    return profiles


def _load_option(where, name, raw):
    if not isinstance(name, str) or not _NAME_PATTERN.match(name) or "--" in name:
        raise ProfileConfigError(
            f"{where}: option names are letters, digits, '_', '.' and single '-'"
        )
    if name == PROFILE_FIELD:
        raise ProfileConfigError(f"{where}: {PROFILE_FIELD!r} is reserved for the profile's slug")
    if not isinstance(raw, dict):
        raise ProfileConfigError(f"{where} must be a dict")
    _check_keys(where, raw, {"display_name", "choices", "unlisted_choice"})
    choices = {}
    raw_choices = raw.get("choices") or {}
    if not isinstance(raw_choices, dict):
        raise ProfileConfigError(f"{where}: choices must be a dict of choices")
    for key, raw_choice in raw_choices.items():
        here = f"{where}, choice {key!r}"
        if not isinstance(key, str) or not key or key == UNLISTED_CHOICE_VALUE:
            raise ProfileConfigError(f"{here}: a choice's key must be a non-empty string")
        if not isinstance(raw_choice, dict):
            raise ProfileConfigError(f"{here} must be a dict")
        _check_keys(here, raw_choice, {"display_name", "default", *_OVERRIDE_KEYS})
        choices[key] = Choice(
            key=key,
            display_name=str(raw_choice.get("display_name") or key),
            default=bool(raw_choice.get("default", False)),
            overrides=_overrides(here, raw_choice),
        )
    if sum(c.default for c in choices.values()) > 1:
        raise ProfileConfigError(f"{where} marks more than one choice as default")
    unlisted = None
    raw_unlisted = raw.get("unlisted_choice") or {}
    if not isinstance(raw_unlisted, dict):
        raise ProfileConfigError(f"{where}: unlisted_choice must be a dict")
    _check_keys(f"{where}, unlisted_choice", raw_unlisted,
                {"enabled", "display_name", "validation_regex", "validation_message",
                 *_OVERRIDE_KEYS})
    if raw_unlisted.get("enabled"):
        regex = raw_unlisted.get("validation_regex")
        try:
            compiled = re.compile(regex) if regex else None
        except re.error as e:
            raise ProfileConfigError(f"{where}: validation_regex {regex!r} is invalid: {e}") from e
        unlisted = Unlisted(
            display_name=str(raw_unlisted.get("display_name") or "Other"),
            regex=compiled,
            overrides=_overrides(f"{where}, unlisted_choice", raw_unlisted),
            message=str(raw_unlisted.get("validation_message") or ""),
        )
    if not choices and unlisted is None:
        raise ProfileConfigError(f"{where} offers no choices and no unlisted_choice")
    return Option(name=name, display_name=str(raw.get("display_name") or name),
                  choices=choices, unlisted=unlisted)


def _check_keys(where, raw, known):
    unknown = sorted(set(raw) - known, key=str)
    if unknown:
        raise ProfileConfigError(f"{where} has unknown keys {unknown}; known: {sorted(known)}")


def _overrides(where, raw):
    given = [k for k in _OVERRIDE_KEYS if k in raw]
    if len(given) > 1:
        raise ProfileConfigError(f"{where} has both spawner_override and kubespawner_override")
    overrides = raw.get(given[0]) if given else {}
    if not isinstance(overrides, dict):
        raise ProfileConfigError(f"{where}: {given[0]} must be a dict of setting -> value")
    return dict(overrides)


def default_profile(profiles):
    for profile in profiles:
        if profile.default:
            return profile
    return profiles[0] if profiles else None


# --- the user's pick ------------------------------------------------------------


def resolve(profiles, user_options, ignore=()):
    """Check ``user_options`` against the profiles; return ``(profile, overrides)``.

    ``overrides`` maps setting names to values, profile first, then each option in turn
    (a later dict value is merged into an earlier one). Keys in ``ignore`` are somebody
    else's to check. Raises UserOptionsError with a sentence naming the field.
    """
    check_shape(user_options)
    options = {k: v for k, v in user_options.items() if k not in ignore}
    if not profiles:
        if options:
            raise UserOptionsError(
                f"user_options field {sorted(options)[0]!r} is not accepted:"
                " this hub offers no choices of server."
            )
        return None, {}

    if PROFILE_FIELD in options:
        slug = check_text(PROFILE_FIELD, options[PROFILE_FIELD])
        by_slug = {p.slug: p for p in profiles}
        if slug not in by_slug:
            raise UserOptionsError(
                f"user_options field 'profile': {slug!r} is not a profile of this hub;"
                f" choose one of {_listing(by_slug)}."
            )
        profile = by_slug[slug]
    else:
        profile = default_profile(profiles)

    known = {PROFILE_FIELD}
    for name, option in profile.options.items():
        known.add(name)
        if option.unlisted:
            known.add(name + UNLISTED_SUFFIX)
    unknown = sorted(set(options) - known)
    if unknown:
        offered = sorted(known - {PROFILE_FIELD})
        raise UserOptionsError(
            f"user_options field {unknown[0]!r} is not an option of profile {profile.slug!r}"
            + (f"; its options are {_listing(offered)}." if offered else ", which has no options.")
        )

    layers = [profile.overrides]
    for name, option in profile.options.items():
        layers.append(_pick(profile, option, options))
    return profile, merge_overrides(layers)


def _pick(profile, option, options):
    text_field = option.name + UNLISTED_SUFFIX
    if text_field in options:
        if option.name in options:
            raise UserOptionsError(
                f"user_options fields {option.name!r} and {text_field!r} are both given;"
                " give one of them."
            )
        text = check_text(text_field, options[text_field], MAX_TEXT)
        if not text:
            raise UserOptionsError(f"user_options field {text_field!r} is empty.")
        regex = option.unlisted.regex
        if regex is not None and not regex.fullmatch(text):
            why = option.unlisted.message or f"it must match {regex.pattern}"
            raise UserOptionsError(
                f"user_options field {text_field!r}: {text!r} is not allowed"
                f" for {option.display_name!r} ({why})."
            )
        # Whatever the admin's pattern lets through, the text stays one segment of data.
        return fill_value(option.unlisted.overrides, check_segment(text_field, text))
    if option.name in options:
        key = check_text(option.name, options[option.name])
        if key not in option.choices:
            raise UserOptionsError(
                f"user_options field {option.name!r}: {key!r} is not offered in profile"
                f" {profile.slug!r}; choose one of {_listing(option.choices)}."
            )
        return option.choices[key].overrides
    choice = option.default_choice
    if choice is None:
        raise UserOptionsError(
            f"user_options field {text_field!r} is needed: profile {profile.slug!r} has no"
            f" listed choice for {option.display_name!r}."
        )
    return choice.overrides


def text_fields(profiles, user_options):
    """Setting name -> the user_options field whose free text filled it (for errors that are
    the user's, not the admin's: a memory of '0M' from a user's '0')."""
    if not isinstance(user_options, dict):
        return {}
    by_slug = {p.slug: p for p in profiles}
    profile = by_slug.get(user_options.get(PROFILE_FIELD)) or default_profile(profiles)
    fields = {}
    for name, option in (profile.options.items() if profile else ()):
        if option.unlisted and name + UNLISTED_SUFFIX in user_options:
            for setting in option.unlisted.overrides:
                fields[setting] = name + UNLISTED_SUFFIX
    return fields


def fill_value(overrides, text):
    """Put the user's text wherever the admin wrote ``{value}``; nothing else is expanded.

    ``text`` is one safe segment (options.check_segment): it has no braces, so a template
    expanded later (a mount source's ``{username}``) never reads it as a field."""
    if isinstance(overrides, str):
        return overrides.replace("{value}", text)
    if isinstance(overrides, dict):
        return {k: fill_value(v, text) for k, v in overrides.items()}
    if isinstance(overrides, (list, tuple)):
        return [fill_value(v, text) for v in overrides]
    return overrides


def merge_overrides(layers):
    """Later layers win; a dict value is merged into the same setting's earlier dict."""
    merged = {}
    for layer in layers:
        for name, value in layer.items():
            if isinstance(value, dict) and isinstance(merged.get(name), dict):
                merged[name] = {**merged[name], **copy.deepcopy(value)}
            else:
                merged[name] = copy.deepcopy(value) if not callable(value) else value
    return merged


def _listing(keys):
    return ", ".join(repr(k) for k in keys)


# --- the form -------------------------------------------------------------------


def option_field(profile, option):
    """The form field of one option of one profile."""
    return f"{FORM_OPTION_PREFIX}{profile.slug}--{option.name}"


def form_to_user_options(profiles, form_data):
    """Posted form data (every value a list of strings) -> ``user_options``.

    Only the chosen profile's fields are read; the rest of the form is dropped. The result
    still goes through :func:`resolve`, like options from the REST API.
    """
    def one(name):
        values = form_data.get(name) or []
        return values[0] if values else None

    user_options = {}
    slug = one(PROFILE_FIELD)
    if slug is not None:
        user_options[PROFILE_FIELD] = slug
    profile = {p.slug: p for p in profiles}.get(slug) or (
        default_profile(profiles) if slug is None else None
    )
    if profile is None:
        return user_options  # an unknown profile: resolve() says so
    for option in profile.options.values():
        name = option_field(profile, option)
        choice = one(name)
        text = one(name + UNLISTED_SUFFIX)
        if option.unlisted and (choice == UNLISTED_CHOICE_VALUE or (
                choice is None and not option.choices)):
            user_options[option.name + UNLISTED_SUFFIX] = (text or "").strip()
        elif choice is not None:
            user_options[option.name] = choice
    return user_options
