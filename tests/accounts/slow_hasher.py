"""A password hasher that takes a fixed 0.1 s (sleeping, not computing), so tests of the hashing budget do not
depend on how busy the machine is."""

import time

from django.contrib.auth.hashers import MD5PasswordHasher


class SlowMD5PasswordHasher(MD5PasswordHasher):
    algorithm = "slow_md5"
    seconds = 0.1

    def encode(self, password, salt):
        time.sleep(self.seconds)
        return super().encode(password, salt)

    def verify(self, password, encoded):
        time.sleep(self.seconds)
        return super().verify(password, encoded)
