#!/bin/sh
# Renders /etc/alertmanager/alertmanager.yml with the ALERTMANAGER_* environment variables (each
# ${NAME} replaced by its value; "|" and "&" escaped for sed) and starts Alertmanager on the result.
set -eu
config=/tmp/alertmanager.yml
cp /etc/alertmanager/alertmanager.yml "$config"
for name in ALERTMANAGER_SMTP_SMARTHOST ALERTMANAGER_EMAIL_FROM ALERTMANAGER_EMAIL_TO \
  ALERTMANAGER_SMTP_USERNAME ALERTMANAGER_SMTP_PASSWORD ALERTMANAGER_SLACK_WEBHOOK_URL \
  ALERTMANAGER_SLACK_CHANNEL; do
  value=$(printenv "$name" || true)
  escaped=$(printf '%s' "$value" | sed -e 's/[|&\\]/\\&/g')
  sed -i -e "s|\${$name}|$escaped|g" "$config"
done
exec /bin/alertmanager --config.file="$config" --storage.path=/alertmanager "$@"
