#!/bin/sh
exec ./count "$@"
