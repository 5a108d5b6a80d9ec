#!/bin/sh
# Starts `charcoal serve` the way an operator expects from a container: with the mounted
# carbon.conf (and the storage-schemas.conf / storage-aggregation.conf beside it) when
# there is one, on the embedded defaults with data under the storage volume otherwise.
# Any other command (`charcoal health`, `whisper-info ...`) runs as given.
set -eu
CONF=${CHARCOAL_CONFIG:-/etc/carbon/carbon.conf}
STORAGE=${CHARCOAL_STORAGE:-/var/lib/charcoal}
if [ "${1:-serve}" = serve ]; then
    [ $# -gt 0 ] && shift
    if [ -f "$CONF" ]; then
        exec charcoal serve --config "$CONF" "$@"
    fi
    exec charcoal serve --storage-dir "$STORAGE" "$@"
fi
exec "$@"
