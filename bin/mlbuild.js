#!/usr/bin/env node
import '../dist/mlbuild.js';
