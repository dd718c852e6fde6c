"""A retraining method needs every attribute it mitigates in the bundle's training data, not only in the audited data."""

import pandas as pd
import pytest

from tinyemo_audit.errors import InputError
from tinyemo_audit.mitigation._data import check_training_attributes


def test_an_attribute_the_training_data_lacks_is_one_input_error():
    # e.g. --dataset csv:... --attribute site on a bundle trained on faces: the audit has "site", training does not
    training = pd.DataFrame({"skin_group": ["dark", "light"], "gender": ["feminine", "masculine"]})
    with pytest.raises(InputError, match=r"reweigh fits on the bundle's training data \('faces'\), which does not "
                                         r"carry the protected attribute 'site' \(it has skin_group, gender\)"):
        check_training_attributes(training, ["skin_group", "site"], "reweigh", "faces")
    check_training_attributes(training, ["gender", "skin_group"], "reweigh", "faces")  # both present: no error
