# -*- Python -*-
# The GoogleTest units, run by lit so that one lit run reports every test.
import os

import lit.formats

config.name = "moec-unit-sanitized" if config.moec_sanitize else "moec-unit"
config.suffixes = []
config.test_source_root = os.path.join(config.moec_obj_root, "test", "unit")
config.test_exec_root = config.test_source_root
config.test_format = lit.formats.GoogleTest(".", "Tests")
