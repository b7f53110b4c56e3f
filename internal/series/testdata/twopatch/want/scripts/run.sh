#!/bin/sh
set -e
exec ./count "$@"
