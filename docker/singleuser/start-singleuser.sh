#!/bin/bash
# docker-stacks' entry point for JupyterHub, so that configurations written for those images
# (args: /usr/local/bin/start-singleuser.sh) work with this one: run the hooks in
# /usr/local/bin/before-notebook.d (*.sh files are sourced, other executables run), then
# jupyterhub-singleuser with NOTEBOOK_ARGS and the arguments given.
set -e
shopt -s nullglob
for hook in /usr/local/bin/before-notebook.d/*; do
    case "$hook" in
        *.sh) echo "start-singleuser.sh: sourcing $hook"; source "$hook" ;;
        *) if [ -x "$hook" ]; then echo "start-singleuser.sh: running $hook"; "$hook"; fi ;;
    esac
done
# shellcheck disable=SC2086  # NOTEBOOK_ARGS holds several arguments, as in docker-stacks
exec jupyterhub-singleuser ${NOTEBOOK_ARGS} "$@"
