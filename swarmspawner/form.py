"""The spawn form: the profiles rendered as HTML from a Jinja2 template.

JupyterHub wraps the result in its own ``<form>`` with the Start button (its
``spawn.html``), so the template renders only the fields, with the Bootstrap 5 classes
JupyterHub's pages use. Plain radio buttons, selects and text boxes: the form works
without JavaScript.
"""

from functools import lru_cache

import jinja2

from .profiles import (
    FORM_OPTION_PREFIX,
    PROFILE_FIELD,
    UNLISTED_CHOICE_VALUE,
    UNLISTED_SUFFIX,
    default_profile,
    option_field,
)

TEMPLATE_NAME = "profiles_form.html"


@lru_cache(maxsize=1)
def _environment():
    return jinja2.Environment(
        loader=jinja2.PackageLoader("swarmspawner", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


def render_form(profiles, previous=None, template=""):
    """HTML for the profiles.

    ``previous`` (user_options last posted or used) preselects the profile, its choices
    and free texts, so that a form refused with a reason comes back as the user left it.
    ``template`` is an admin's own Jinja2 template text; empty means the built-in one.
    """
    env = _environment()
    tmpl = env.from_string(template) if template else env.get_template(TEMPLATE_NAME)
    # The previous options may be anything a user once sent: use only what fits.
    previous = previous if isinstance(previous, dict) else {}
    by_slug = {p.slug: p for p in profiles}
    chosen = previous.get(PROFILE_FIELD)
    if not isinstance(chosen, str) or chosen not in by_slug:
        default = default_profile(profiles)
        chosen = default.slug if default else None
    selected, texts = {}, {}
    for option in by_slug[chosen].options.values() if chosen else ():
        text = previous.get(option.name + UNLISTED_SUFFIX)
        if option.unlisted and isinstance(text, str):
            selected[option.name] = UNLISTED_CHOICE_VALUE
            texts[option.name] = text
        elif isinstance(previous.get(option.name), str) and previous[option.name] in option.choices:
            selected[option.name] = previous[option.name]
    return tmpl.render(
        profiles=profiles,
        selected_profile=chosen,
        selected_choices=selected,
        unlisted_texts=texts,
        option_field=option_field,
        profile_field=PROFILE_FIELD,
        unlisted_suffix=UNLISTED_SUFFIX,
        unlisted_value=UNLISTED_CHOICE_VALUE,
        field_prefix=FORM_OPTION_PREFIX,
    )
