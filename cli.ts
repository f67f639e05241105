// placeholder: replaced by the CLI entry point
console.log("kars");
