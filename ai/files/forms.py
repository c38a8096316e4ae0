from django import forms

ACCEPT = ".csv,.tsv,.xlsx,.pdf,.txt,.md,.markdown,text/csv,text/plain,text/markdown,application/pdf"


class FileUploadForm(forms.Form):
    """The upload form's shape only: the file's type, size and readability are checked by the service."""

    file = forms.FileField(
        label="File",
        allow_empty_file=True,
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
        error_messages={"required": "Choose a file to upload."},
    )
