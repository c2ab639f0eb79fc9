from tests.fixtures_demo import *
